"""Both kinds of order as a customer clicks through them, and an editor's rejection in the admin.

Buy from the site's form, pay on the TEST MODE payment page, watch the order page until the draft
is there, ask for another, submit it, and see the page after staff reject it. Each state is
saved at desktop and phone width; each page is scanned by axe (tests/browser/support.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from purchases.models import Order, OrderStatus
from tests.browser.support import (
    ARTICLE_BRIEF,
    A11yReport,
    Shots,
    admin_publish,
    admin_reject,
    admin_sign_in,
    fill_form,
    mark_no_reload,
    pay_in_test_mode,
    regenerate,
    staff_user,
    still_no_reload,
    submit_button,
    submit_for_review,
    wait_for_draft,
)
from tests.factories import make_published_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

REASON = "Please move the link closer to the part about neck pain."


def editor() -> tuple[str, str]:
    """A staff user who may review (reject) and publish orders, but is no superuser."""
    return staff_user("editor", "change_order", "view_order", "publish_order")


def follow_order_to_publication(
    customer: Page,
    staff: Page,
    *,
    site: str,
    shots: Shots,
    a11y: A11yReport,
    kind: str,
) -> Order:
    """From the order page right after payment: draft 1, another draft, submit, staff reject (the
    reason appears on the open page, no reload), submit again, staff publish (the page says so and
    links the live article, no reload)."""
    article = kind == "article"
    expect(
        customer.get_by_text(re.compile(r"We are (writing your article|weaving your link)"))
    ).to_be_visible()
    shots.take(customer, "processing")
    a11y.scan(customer, f"order page: {kind}, processing")

    wait_for_draft(customer, 1)
    shots.take(customer, "draft-1")
    a11y.scan(customer, f"order page: {kind}, draft ready")

    regenerate(customer, article=article)
    expect(
        customer.get_by_text(re.compile(r"(A new placement|A fresh draft) is being written"))
    ).to_be_visible()
    shots.take(customer, "regenerating")
    wait_for_draft(customer, 2)
    expect(customer.get_by_role("heading", name="Earlier drafts")).to_be_visible()
    shots.take(customer, "draft-2")

    submit_for_review(customer, shots, a11y)
    shots.take(customer, "in-review")
    a11y.scan(customer, f"order page: {kind}, in review")
    order = Order.objects.get(customer_email=f"{kind}-buyer@example.com")
    assert order.status == OrderStatus.ADMIN_REVIEW

    mark_no_reload(customer)
    admin_sign_in(staff, site, *editor())
    admin_reject(staff, site, str(order.id), REASON)
    staff.set_viewport_size({"width": 1280, "height": 900})
    staff.screenshot(path=str(shots.directory / f"{shots.flow}-admin-rejected-1280.png"), full_page=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK

    # The open page hears of it by itself (slow mode; ORDER_PAGE_SLOW_POLL_SECONDS is 1 here).
    expect(customer.get_by_text(REASON).first).to_be_visible(timeout=15_000)
    expect(submit_button(customer)).to_be_visible()
    assert still_no_reload(customer)
    shots.take(customer, "rejected")
    a11y.scan(customer, f"order page: {kind}, rejected")

    submit_for_review(customer)
    mark_no_reload(customer)
    admin_publish(staff, site, str(order.id))
    order.refresh_from_db()
    assert order.status == OrderStatus.PUBLISHED
    live = customer.get_by_role("link", name="Read the article")
    expect(live).to_be_visible(timeout=15_000)
    assert still_no_reload(customer)
    expect(customer.locator("#order")).to_have_attribute("data-live", "off")  # nothing more to poll
    shots.take(customer, "published")
    a11y.scan(customer, f"order page: {kind}, published")
    live.click()
    expect(customer.get_by_role("heading", level=1)).to_be_visible()
    # The live article carries the customer's link.
    expect(
        customer.locator(
            'article a[href="https://shop.example-store.com/pillows"], main a[href="https://shop.example-store.com/pillows"]'
        ).first
    ).to_be_visible()
    shots.take(customer, "live-article")
    return order


def test_a_backlink_is_bought_from_the_article_page_paid_drafted_redrafted_submitted_rejected_and_published(
    site: str,
    worker: Any,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    article = make_published_article(title="Ten Ways to Sleep Better")
    customer, staff = new_page(), new_page()
    flow = shots("backlink")

    customer.goto("/")
    flow.take(customer, "home")
    a11y.scan(customer, "home")
    customer.get_by_role("link", name=article.title).click()
    customer.get_by_role("link", name="Buy a backlink in this article").click()
    expect(customer.get_by_role("heading", name="Buy a backlink")).to_be_visible()
    a11y.scan(customer, "buy backlink")

    customer.get_by_role("button", name="Continue to payment").click()
    expect(customer.get_by_text("Please check the fields marked below.")).to_be_visible()
    for name in ("targetUrl", "anchorText", "customerEmail"):  # each error is read out with its field
        field = customer.locator(f"#{name}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(customer.locator(f"#{name}-error").inner_text())
    flow.take(customer, "buy-errors")
    a11y.scan(customer, "buy backlink: errors")

    fill_form(
        customer,
        {
            "targetUrl": "https://shop.example-store.com/pillows",
            "anchorText": "memory foam pillows",
            "customerEmail": "backlink-buyer@example.com",
        },
    )
    flow.take(customer, "buy-filled")
    customer.get_by_role("button", name="Continue to payment").click()
    expect(customer.get_by_text("TEST MODE — no real payment.")).to_be_visible()
    flow.take(customer, "test-checkout")
    a11y.scan(customer, "test checkout")

    pay_in_test_mode(customer)
    follow_order_to_publication(customer, staff, site=site, shots=flow, a11y=a11y, kind="backlink")


def test_an_article_is_ordered_paid_drafted_redrafted_submitted_rejected_and_published(
    site: str,
    worker: Any,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    customer, staff = new_page(), new_page()
    flow = shots("article")

    customer.goto("/")
    customer.get_by_role("link", name="Order a sponsored article").first.click()
    expect(customer.get_by_role("heading", name="Order a sponsored article")).to_be_visible()
    a11y.scan(customer, "buy article")
    fill_form(
        customer,
        {
            **ARTICLE_BRIEF,
            "targetUrl": "https://shop.example-store.com/pillows",
            "customerEmail": "article-buyer@example.com",
        },
    )
    flow.take(customer, "buy-filled")
    customer.get_by_role("button", name="Continue to payment").click()
    expect(customer.get_by_text("TEST MODE — no real payment.")).to_be_visible()
    flow.take(customer, "test-checkout")

    pay_in_test_mode(customer)
    follow_order_to_publication(customer, staff, site=site, shots=flow, a11y=a11y, kind="article")
