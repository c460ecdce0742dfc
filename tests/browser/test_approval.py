"""Review before work in a real browser: a paid backlink in an article that needs approval waits,
then staff accept one order (it is written) and decline another (refunded, the reason shown).

The customer's order page stays open and hears each decision by itself (slow mode). Each state is
saved at desktop and phone width and scanned by axe (tests/browser/support.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from purchases.models import Order, OrderStatus
from tests.browser.support import (
    A11yReport,
    Shots,
    admin_sign_in,
    fill_form,
    mark_no_reload,
    pay_in_test_mode,
    staff_user,
    still_no_reload,
    wait_for_draft,
)
from tests.factories import make_published_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

REASON = "We do not link to payday lenders from a health article."


def approver() -> tuple[str, str]:
    """A staff user who may accept or decline targets and read orders, nothing else."""
    return staff_user("approver", "view_order", "approve_target")


def buy_and_pay(customer: Page, *, title: str, email: str, target: str) -> Order:
    customer.goto("/")
    customer.get_by_role("link", name=title).click()
    customer.get_by_role("link", name="Buy a backlink in this article").click()
    fill_form(customer, {"targetUrl": target, "anchorText": "memory foam pillows", "customerEmail": email})
    customer.get_by_role("button", name="Continue to payment").click()
    pay_in_test_mode(customer)
    return Order.objects.get(customer_email=email)


def test_a_paid_order_waits_for_approval_then_one_is_accepted_and_written_and_one_declined_and_refunded(
    site: str,
    worker: Any,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    article = make_published_article(title="Ten Ways to Sleep Better", needs_approval=True)
    customer, other, staff = new_page(), new_page(), new_page()
    flow = shots("approval")

    order = buy_and_pay(
        customer,
        title=article.title,
        email="approval-buyer@example.com",
        target="https://shop.example-store.com/pillows",
    )
    expect(customer.get_by_text("Waiting for approval").first).to_be_visible()
    expect(
        customer.locator("#status-message").get_by_text(re.compile(r"The publisher reviews your link"))
    ).to_be_visible()
    expect(customer.locator("#order")).to_have_attribute("data-live", "slow")
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_APPROVAL
    flow.take(customer, "awaiting-approval")
    a11y.scan(customer, "order page: awaiting approval")

    admin_sign_in(staff, site, *approver())
    staff.goto(f"{site}/admin/purchases/order/{order.id}/change/")
    expect(staff.get_by_role("heading", name="Waiting for approval", exact=True)).to_be_visible()
    staff.set_viewport_size({"width": 1280, "height": 900})
    staff.screenshot(path=str(flow.directory / "approval-admin-waiting-1280.png"), full_page=True)

    mark_no_reload(customer)
    staff.get_by_role("button", name="Accept target").click()
    expect(staff.locator(".messagelist")).to_contain_text("target accepted")
    # The open page hears of it by itself, then the worker writes the draft as usual.
    wait_for_draft(customer, 1)
    assert still_no_reload(customer)
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    flow.take(customer, "accepted-draft-1")

    declined = buy_and_pay(
        other,
        title=article.title,
        email="declined-buyer@example.com",
        target="https://loans.example-lender.com/",
    )
    expect(other.get_by_text("Waiting for approval").first).to_be_visible()
    mark_no_reload(other)
    staff.goto(f"{site}/admin/purchases/order/{declined.id}/change/")
    staff.get_by_label("Why the target is declined").fill(REASON)
    staff.get_by_role("button", name="Decline and refund").click()
    expect(staff.locator(".messagelist")).to_contain_text("target declined; refunded 49.00 USD")

    expect(
        other.locator("#status-message").get_by_text(re.compile(r"The publisher declined your link"))
    ).to_be_visible(timeout=15_000)
    expect(other.get_by_text(REASON, exact=False).first).to_be_visible()
    expect(other.locator("#order")).to_have_attribute("data-live", "off")
    assert still_no_reload(other)
    declined.refresh_from_db()
    assert declined.status == OrderStatus.REFUNDED
    flow.take(other, "declined-refunded")
    a11y.scan(other, "order page: declined and refunded")
