"""Hostile text through the real flows (fake OpenAI replies, a real worker) reaches the customer as plain text:
no ``[[…]]`` mark, Markdown syntax or HTML entity in API previews, on the home page or in the text emails,
and escaped (never markup) in the HTML emails."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from purchases.models import Order
from tests.conftest import outbox_for, signed_post
from tests.factories import ARTICLE_BODY, article_body, article_reply, make_article_order, make_order
from tests.factories import make_published_article as make_article

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "A Beginner's Guide to <b>Sleep</b>"
BODY = f"# {TITLE}\n\n" + ARTICLE_BODY.split("\n\n", 1)[1].replace(
    "Good sleep is the cheapest", "Good **sleep** &amp; rest are the cheapest"
)
PARAGRAPH = "If your neck aches, **really** aches &amp; more, [[memory foam pillows]] can help keep your spine aligned."
SAID = "If your neck aches, really aches & more, memory foam pillows can help keep your spine aligned."
LEAKS = ("[[", "]]", "**", "&amp;", "&#x27;", "&#39;", "&lt;", "# ")


def leaks(text: str) -> list[str]:
    return [mark for mark in LEAKS if mark in text]


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def drafted_backlink(api: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any) -> tuple[Any, Order, str]:
    article = make_article(title=TITLE, body_markdown=BODY)
    fake_openai.script(json.dumps({"paragraph_index": 2, "mode": "insert_after", "paragraph": PARAGRAPH}))
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    assert (
        signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id)).status_code
        == 200
    )
    run_worker()
    order.refresh_from_db()
    assert order.status == "QUALITY_CHECK", order.failure_reason
    return article, order, token


def test_api_previews_show_the_customers_paragraph_as_plain_text(
    api: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any
) -> None:
    _, order, token = drafted_backlink(api, fake_stripe, fake_openai, run_worker)

    preview = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["preview"]
    (version,) = api.get(f"/api/v1/purchase/versions/{order.id}", **auth(token)).json()

    assert preview == SAID
    assert version["preview"] == SAID


def test_the_text_email_carries_no_entity_and_the_html_email_no_markup(
    api: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    _, order, _ = drafted_backlink(api, fake_stripe, fake_openai, run_worker)

    (email,) = outbox_for(order)
    text, html_body = email.body, email.alternatives[0][0]

    assert f'"{TITLE}"' in text  # the title as written: plain text needs no escaping
    assert f"Preview: {SAID}" in text  # the customer's own paragraph, not the article's opening
    assert leaks(text.replace(TITLE, "")) == []
    assert "<b>Sleep</b>" not in html_body
    assert html.escape(TITLE) in html_body
    assert html.escape(SAID) in html_body and "[[" not in html_body and "**" not in html_body


def test_the_home_page_excerpt_is_plain_and_does_not_repeat_the_title(client: Any, db: Any) -> None:
    article = make_article(title=TITLE, body_markdown=BODY)

    page = client.get("/").content.decode()

    block = page[page.index(f"/articles/{article.slug}/") :]
    excerpt = html.unescape(re.search(r"<p>(.*?)</p>", block, re.S).group(1))  # type: ignore[union-attr]
    assert excerpt.startswith("Good sleep & rest are the cheapest performance upgrade there is")
    assert "Keep a schedule. Going to bed" in excerpt  # a heading ends before the next sentence starts
    assert leaks(excerpt) == [] and "Beginner" not in excerpt


def test_a_sponsored_article_excerpt_in_its_email_skips_the_title_and_separates_headings(
    api: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    title = "A Side Sleeper's Guide to Pillow Loft"
    fake_openai.script(article_reply(title=title, body=article_body(extra="It is **simple** &amp; cheap.")))
    order, token = make_article_order()
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))
    run_worker()
    order.refresh_from_db()
    assert order.status == "QUALITY_CHECK", order.failure_reason

    preview = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["preview"]
    (email,) = outbox_for(order)

    assert preview.startswith("Side sleepers ask more of a pillow than anyone else.")
    assert "It is simple & cheap. What your neck needs. " in preview
    assert leaks(preview) == []
    assert f'"{title}"' in email.body and f"Preview: {preview[:200]}" in email.body
    assert leaks(email.body) == []
    assert "Sleeper&#x27;s" in email.alternatives[0][0]  # the HTML email stays escaped
