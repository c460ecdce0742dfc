"""The conversation on an order in the browser: the customer writes from the order page (no
script needed), the editor reads it in the admin and answers with "request changes", and the
customer reads the answer. Screenshots: ``thread-*.png`` (1280 and 390 px)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from purchases.models import OrderMessage, OrderStatus
from tests.browser.support import DESKTOP, HEIGHT, PHONE, A11yReport, Shots, Writer, admin_sign_in
from tests.browser.test_customer_pages import paid_order
from tests.browser.test_order_flows import editor
from tests.purchases.test_review import auth

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

CUSTOMER_WORDS = (
    "Could the link sit in the paragraph about light?\n<b>Not bold</b> — see https://evil.example"
)
EDITOR_WORDS = "Yes: we will move it there. Please ask for a new placement."


def admin_shots(page: Page, shots: Shots, state: str) -> None:
    """The admin's thread and form at desktop and phone width (the section, not the long review page;
    Django's admin is not held to the no-sideways-scroll rule)."""
    for width in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": HEIGHT})
        path = shots.directory / f"{shots.flow}-{state}-{width}.png"
        page.locator("#messages").screenshot(path=str(path))
    page.set_viewport_size({"width": DESKTOP, "height": HEIGHT})


def test_the_thread_on_the_order_page_and_in_the_admin(
    site: str,
    writer: Writer,
    article: Any,
    api: Any,
    run_worker: Any,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    writer.delay = 0
    order, token = paid_order(api, article, customer_email="thread@example.com")
    run_worker()
    response = api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth(token)
    )
    assert response.status_code == 200, response.content
    flow = shots("thread")

    customer = new_page()
    customer.goto(f"/orders/{order.id}/?token={token}")
    expect(customer.get_by_role("heading", name="Messages with our editors")).to_be_visible()
    customer.get_by_label("Write to our editors").fill(CUSTOMER_WORDS)
    customer.get_by_role("button", name="Send message").click()
    customer.wait_for_load_state()
    thread = customer.locator("#messages")
    expect(thread.get_by_text("Could the link sit in the paragraph about light?")).to_be_visible()
    expect(thread.get_by_text("<b>Not bold</b>", exact=False)).to_be_visible()  # shown as text
    assert thread.locator("b, a[href*='evil.example']").count() == 0
    flow.take(customer, "customer-wrote")
    a11y.scan(customer, "order page: conversation")

    staff = new_page()
    admin_sign_in(staff, site, *editor())
    staff.goto(f"/admin/purchases/order/{order.id}/change/")
    messages = staff.locator("#messages")
    expect(messages.get_by_text("Could the link sit in the paragraph about light?")).to_be_visible()
    assert messages.locator("b, a[href*='evil.example']").count() == 0
    staff.get_by_label("Message to the customer").fill(EDITOR_WORDS)
    staff.get_by_label("Request changes (reject the draft").check()
    admin_shots(staff, flow, "admin-writing")
    staff.get_by_role("button", name="Send message").click()
    expect(staff.locator(".messagelist")).to_contain_text("Rejected")
    expect(staff.locator("#messages").get_by_text(EDITOR_WORDS)).to_be_visible()
    admin_shots(staff, flow, "admin-answered")

    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert [m.side for m in OrderMessage.objects.filter(order=order)] == ["customer", "staff"]
    customer.reload()
    expect(customer.locator("#messages").get_by_text(EDITOR_WORDS)).to_be_visible()
    expect(customer.locator("#messages").get_by_text("Our editors", exact=True)).to_be_visible()
    flow.take(customer, "editor-answered")
    a11y.scan(customer, "order page: conversation answered")
