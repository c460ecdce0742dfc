"""The customer's pages issue 11 adds, in the browser: the live order page, every draft in full,
and all of an address's orders.

Each test skips, naming the missing piece, while its page is not there yet (404, or the order page
still without its script); they run as soon as the feature is merged (``ISSUE_11_MERGED`` in
tests/browser/support.py turns those skips into failures).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from purchases.models import Order, OrderStatus
from purchases.services.review import order_regenerate
from tests.browser.support import (
    BACKLINK_PARAGRAPHS,
    ORDER_PAGE,
    A11yReport,
    Shots,
    Writer,
    drain_queues,
    not_built_yet,
    submit_for_review,
    wait_for_draft,
)
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

# Records, inside the page, whether it was reloaded and every value its progress bar showed.
WATCH = """() => {
  window.__sameDocument = true;
  window.__bar = [];
  setInterval(() => { const p = document.querySelector('progress'); if (p) window.__bar.push(p.value); }, 50);
}"""


def plain(paragraph: str) -> str:
    return paragraph.replace("[[", "").replace("]]", "")


def paid_order(api: Any, article: Any, **fields: Any) -> tuple[Order, str]:
    """A paid backlink order (its job queued), through the checkout service and a signed webhook."""
    order, token = make_order(article, **fields)
    assert signed_post(api, checkout_event(order, event_id=f"evt_{order.id}")).status_code == 200
    return order, token


def test_the_order_page_moves_its_bar_and_shows_the_draft_without_a_reload(
    site: str,
    worker: Any,
    writer: Writer,
    article: Any,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    writer.delay = 3.0
    order, _ = make_order(article, customer_email="live@example.com")
    page = new_page()
    flow = shots("live")
    page.goto(order.checkout_url)
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    page.wait_for_load_state()
    if not ORDER_PAGE.search(page.url):
        not_built_yet("landing on the order page from the TEST MODE payment page (issue 11 item 1)")
    if not page.locator("script[src]").count():
        not_built_yet("the order page's live script (issue 11 item 1)")
    page.evaluate(WATCH)
    expect(page.locator("progress")).to_be_visible()
    flow.take(page, "processing")
    a11y.scan(page, "order page: backlink, live progress")

    wait_for_draft(page, 1)

    assert page.evaluate("window.__sameDocument === true"), "the order page reloaded to show the draft"
    bar = page.evaluate("window.__bar")
    assert len(set(bar)) >= 2, (
        f"the progress bar did not move while the draft was written: {sorted(set(bar))}"
    )
    assert not page.locator('meta[http-equiv="refresh"]').count(), "a refresh outside <noscript>"
    flow.take(page, "draft-1-live")
    a11y.scan(page, "order page: backlink, draft shown live")


def test_an_earlier_draft_opens_in_full_and_is_submitted_after_a_confirmation(
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
    order, token = paid_order(api, article, customer_email="drafts@example.com")
    run_worker()
    order_regenerate(order_id=order.id)
    run_worker()
    order.refresh_from_db()
    assert (order.status, order.drafts.count()) == (OrderStatus.QUALITY_CHECK, 2)
    page = new_page()
    flow = shots("drafts")

    page.goto(f"/orders/{order.id}/?token={token}")
    wait_for_draft(page, 2)
    response = page.goto(f"/orders/{order.id}/drafts/1/?token={token}")
    assert response is not None
    if response.status == 404:
        not_built_yet("the draft page /orders/<id>/drafts/<n>/ (issue 11 item 3)")

    first = plain(BACKLINK_PARAGRAPHS[0][1])
    expect(page.get_by_text(first).first).to_be_visible()
    text = page.locator("main").inner_text()
    assert "Ten Ways to Sleep Better" not in text or "Going to bed and waking" in text  # the whole article
    for raw in ("[[", "]]", "&#x27;", "&amp;", "## "):
        assert raw not in text, f"{raw!r} reached the draft page"
    flow.take(page, "draft-1-in-full")
    a11y.scan(page, "draft page")

    submit_for_review(page, flow)

    flow.take(page, "draft-1-submitted")
    order.refresh_from_db()
    assert order.status == OrderStatus.ADMIN_REVIEW
    assert order.current_version is not None
    assert order.current_version.backlink_metadata["paragraph"] == BACKLINK_PARAGRAPHS[0][1]
    page.goto(f"/orders/{order.id}/")
    main = page.locator("main").inner_text()
    for raw in ("[[", "]]", "&#x27;"):
        assert raw not in main, f"{raw!r} reached the order page"


def test_all_of_an_addresss_orders_are_listed_from_an_emailed_link(
    site: str,
    article: Any,
    api: Any,
    mailoutbox: Any,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    orders = [paid_order(api, article, customer_email="many@example.com")[0] for _ in range(2)]
    make_order(article, customer_email="someone-else@example.com")
    drain_queues()  # the orders' drafts (the offline writer) and their emails
    page = new_page()
    flow = shots("lookup")

    response = page.goto("/orders/")
    assert response is not None
    if response.status == 404:
        not_built_yet("the order lookup page /orders/ (issue 11 item 4)")
    flow.take(page, "ask")
    a11y.scan(page, "orders lookup")
    mail.outbox.clear()
    page.get_by_label(re.compile("email", re.I)).first.fill("many@example.com")
    page.locator("main form").get_by_role("button").first.click()
    page.wait_for_load_state()
    flow.take(page, "sent")
    a11y.scan(page, "orders lookup: sent")

    drain_queues()  # the email may be sent by a job
    sent = [m for m in mail.outbox if "many@example.com" in m.to]
    assert len(sent) == 1, [m.subject for m in mail.outbox]
    links = re.findall(rf"{re.escape(site)}/orders/\S+", str(sent[0].body))
    assert links, sent[0].body
    page.goto(links[0].rstrip(".,)>"))

    for order in orders:
        expect(page.locator(f'a[href*="{order.id}"]').first).to_be_visible()
    assert "someone-else" not in page.content()
    flow.take(page, "list")
    a11y.scan(page, "orders list")
    page.locator(f'a[href*="{orders[0].id}"]').first.click()
    expect(page).to_have_url(ORDER_PAGE)


def test_a_draft_that_appends_a_sentence_shows_the_paragraph_once_with_the_sentence_marked(
    site: str,
    writer: Writer,
    article: Any,
    api: Any,
    run_worker: Any,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    """The cheapest integration (issue 13): one sentence added to the end of a published paragraph."""
    writer.delay, writer.mode = 0, "append_sentence"
    order, token = paid_order(api, article, customer_email="append@example.com")
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    page = new_page()
    flow = shots("append")

    page.goto(f"/orders/{order.id}/drafts/1/?token={token}")

    change = page.locator(".change")
    expect(change).to_have_count(1)
    expect(change.locator(".change-label")).to_have_text("Added to this paragraph in this draft")
    published = (
        "Going to bed and waking at the same time every day trains your body clock. Weekends count too."
    )
    expect(change).to_contain_text(published)
    added = change.locator("ins.added")
    expect(added).to_contain_text("memory foam pillows")
    assert published not in added.inner_text(), "the published text was marked as added"
    expect(change.locator("del")).to_have_count(0)
    expect(added.get_by_role("link", name="memory foam pillows")).to_have_attribute("href", order.target_url)
    flow.take(page, "draft-1-appended-sentence")
    a11y.scan(page, "draft page: a sentence appended")
