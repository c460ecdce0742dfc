"""The editors' desk and a scheduled order in a real browser: an editor schedules from the review
page in the site's time zone, the desk lists the work with its counts, and the customer's order page
says when the order goes live. Saved at desktop and phone width (``desk-*.png``, ``scheduled-*.png``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from purchases.models import Order, OrderStatus
from tests.browser.support import A11yReport, Shots, admin_sign_in
from tests.browser.test_order_flows import editor
from tests.factories import make_published_article
from tests.purchases.test_desk import order_in
from tests.purchases.test_review import submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

S = OrderStatus


def test_an_editor_schedules_an_order_and_finds_it_on_the_desk_with_the_other_work(
    new_page: Callable[[], Page],
    site: str,
    api: Any,
    run_worker: Any,
    shots: Callable[[str], Shots],
    a11y: A11yReport,
    settings: Any,
) -> None:
    settings.TIME_ZONE = "Europe/Paris"
    article = make_published_article(title="Ten Ways to Sleep Better", max_backlinks=20)
    order, token = submitted(api, article, run_worker, "evt_browser_sched")
    # Other work waiting for the editors.
    order_in(article, S.ADMIN_REVIEW, since=timedelta(hours=31))
    order_in(article, S.ADMIN_REVIEW, since=timedelta(hours=3))
    order_in(article, S.FAILED, failure_reason="The writing service was unavailable for 30 minutes")
    order_in(
        article, S.PUBLISHED, dispute_id="dp_1", dispute_status="needs_response", disputed_at=timezone.now()
    )
    staff = new_page()
    admin_sign_in(staff, site, *editor())

    staff.goto(f"/admin/purchases/order/{order.id}/change/")
    expect(staff.get_by_text("Date and time in the site's time zone, Europe/Paris.").first).to_be_visible()
    when = (timezone.now() + timedelta(days=1)).astimezone(timezone.get_current_timezone())
    staff.get_by_label("Publish on").fill(when.strftime("%Y-%m-%dT10:30"))
    staff.get_by_role("button", name="Approve & schedule").click()
    expect(staff.locator(".messagelist")).to_contain_text(
        re.compile(r": approved; publishes on \d+ \w+ \d{4} at 10:30 CET\.")
    )
    order.refresh_from_db()
    assert order.status == S.SCHEDULED
    expect(staff.get_by_text(re.compile(r"Publishes on .* 10:30 CET"))).to_be_visible()
    staff.screenshot(path=str(shots("scheduled").directory / "scheduled-admin-review-1280.png"))

    staff.goto("/admin/")
    summary = staff.locator("#desk-summary")
    expect(summary).to_contain_text("2 waiting for review")
    expect(summary).to_contain_text("1 overdue")
    summary.get_by_role("link", name="The editors' desk").click()
    expect(staff.get_by_role("heading", name="Waiting for review (2)")).to_be_visible()
    expect(staff.get_by_role("heading", name="Scheduled (1)")).to_be_visible()
    expect(staff.locator("#desk-review tr.overdue")).to_have_count(1)
    expect(staff.locator("#desk-scheduled")).to_contain_text("10:30 CET")
    a11y.scan(staff, "admin: the editors' desk")
    shots("desk").take(staff, "sections")

    customer = new_page()
    customer.goto(f"/orders/{order.id}/?token={token}")
    expect(customer.get_by_text(re.compile(r"scheduled for .* 10:30 CET")).first).to_be_visible()
    a11y.scan(customer, "order page: scheduled")
    shots("scheduled").take(customer, "order-page")
    assert Order.objects.get(pk=order.pk).status == S.SCHEDULED
