"""Keyboard use: the buy form is reached field by field with Tab, in reading order, and whatever
has the focus shows a clear outline (at least 2 px, WCAG 2.4.13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

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


def tab_through(page: Page, presses: int) -> list[dict[str, Any]]:
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED))
    return seen


def test_the_article_form_is_filled_with_the_keyboard_in_reading_order_with_a_visible_focus(
    site: str, new_page: Callable[[], Page]
) -> None:
    page = new_page()
    page.goto("/order/article/")

    seen = tab_through(page, 11)

    ids = [f["id"] for f in seen]
    fields = ["topic", "keywords", "wordCount", "targetUrl", "anchorText", "customerNotes", "customerEmail"]
    assert [i for i in ids if i in fields] == fields
    assert ids.index("customerEmail") < ids.index("button:Continue to payment")
    faint = [f for f in seen if f["style"] == "none" or f["width"] < 2]
    assert not faint, f"focus without a clear outline: {faint}"
