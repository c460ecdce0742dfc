"""Keyboard use: the buy form is reached field by field with Tab, in reading order, the order page's
buttons are reached and pressed from the keyboard, and whatever has the focus shows a clear outline
(at least 2 px, WCAG 2.4.13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from purchases.models import OrderStatus
from tests.browser.support import Writer, wait_for_draft
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return {id: e.id || e.tagName.toLowerCase() + ':' + e.textContent.trim().slice(0, 30),
          style: s.outlineStyle, width: parseFloat(s.outlineWidth)};
}"""


def tab_until(page: Page, target: str, limit: int = 40) -> list[dict[str, Any]]:
    """Press Tab until the element ``target`` (an id, or ``tag:text``) has the focus; what had it on the way."""
    seen: list[dict[str, Any]] = []
    while len(seen) < limit:
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED))
        if seen[-1]["id"] == target:
            return seen
    raise AssertionError(f"Tab never reached {target}: {[f['id'] for f in seen]}")


def test_the_article_form_is_filled_with_the_keyboard_in_reading_order_with_a_visible_focus(
    site: str, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    page.goto("/order/article/")

    seen = tab_until(page, "button:Continue to payment")

    ids = [f["id"] for f in seen]
    fields = ["topic", "keywords", "wordCount", "targetUrl", "anchorText", "customerNotes", "customerEmail"]
    assert [i for i in ids if i in fields] == fields
    faint = [f for f in seen if f["style"] == "none" or f["width"] < 2]
    assert not faint, f"focus without a clear outline: {faint}"


def test_another_placement_is_asked_for_with_the_keyboard_alone(
    site: str, writer: Writer, article: Any, api: Any, run_worker: Any, new_page: Callable[[], Page]
) -> None:
    writer.delay = 0
    order, token = make_order(article, customer_email="keys@example.com")
    assert signed_post(api, checkout_event(order, event_id="evt_keys")).status_code == 200
    run_worker()
    page = new_page()
    page.goto(f"/orders/{order.id}/?token={token}")
    wait_for_draft(page, 1)

    focused = tab_until(page, "button:Try another placement")[-1]
    assert focused["style"] != "none" and focused["width"] >= 2, focused
    page.keyboard.press("Enter")

    expect(page.get_by_text("A new placement is being written").first).to_be_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
