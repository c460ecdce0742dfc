"""Issue 9, "images from anywhere reach published pages": a model reply or a stored text carrying a
tracking image or a link of its own never reaches a page we serve, for either kind of order.

Through the real stack: fake Stripe webhook, a real RQ worker, fake OpenAI at the HTTP boundary,
and the pages, the API and the admin read through Django's test client.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from purchases.models import Order, OrderStatus
from tests.conftest import checkout_event, signed_post
from tests.factories import (
    ARTICLE_BODY,
    article_reply,
    make_article_order,
    make_order,
    make_published_article,
)

pytestmark = pytest.mark.django_db(transaction=True)

TRACKER = "![x](//evil.example.net/track.gif)"
EVIL_HOST = "evil.example.net"
BACKLINK_ANCHOR = "memory foam pillows"
GOOD_PARAGRAPH = (
    f"If your neck aches in the morning, [[{BACKLINK_ANCHOR}]] can help keep your spine aligned "
    "through the night."
)


def backlink_reply(paragraph: str) -> str:
    return json.dumps({"paragraph_index": 3, "mode": "insert_after", "paragraph": paragraph})


BACKLINK_WITH_TRACKER = backlink_reply(f"{GOOD_PARAGRAPH} {TRACKER}")
BACKLINK_GOOD = backlink_reply(GOOD_PARAGRAPH)
ARTICLE_WITH_TRACKER = article_reply(extra=TRACKER)
ARTICLE_GOOD = article_reply()


def paid(api: Any, order: Order) -> Order:
    assert signed_post(api, checkout_event(order, event_id=f"evt_{order.id}")).status_code == 200
    return order


def paid_backlink_order(api: Any) -> tuple[Order, str]:
    order, token = make_order(make_published_article(), anchor_text=BACKLINK_ANCHOR)
    return paid(api, order), token


def paid_article_order(api: Any) -> tuple[Order, str]:
    order, token = make_article_order()
    return paid(api, order), token


ORDERS = {"backlink": (paid_backlink_order, BACKLINK_WITH_TRACKER, BACKLINK_GOOD)}
ORDERS["article"] = (paid_article_order, ARTICLE_WITH_TRACKER, ARTICLE_GOOD)


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_loads_nothing_foreign(html: str) -> None:
    assert "<img" not in html
    assert EVIL_HOST not in html
    assert not re.search(r"""\s(?:src|href)=["']?//""", html)


@pytest.mark.parametrize("kind", list(ORDERS))
def test_a_model_reply_with_a_tracking_image_three_times_fails_the_order_and_stores_nothing(
    api: Any, fake_openai: Any, run_worker: Any, settings: Any, kind: str
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    make, tracked, _ = ORDERS[kind]
    fake_openai.script(tracked, tracked, tracked)
    order, token = make(api)

    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "no_images_or_links" in order.failure_reason
    assert not order.drafts.exists()
    assert api.get(f"/api/v1/purchase/content/{order.id}", **bearer(token)).status_code == 409


@pytest.mark.parametrize("kind", list(ORDERS))
def test_a_tracking_image_is_fed_back_and_the_stored_draft_and_every_page_are_clean(
    api: Any, client: Any, fake_openai: Any, run_worker: Any, kind: str
) -> None:
    make, tracked, good = ORDERS[kind]
    fake_openai.script(tracked, good)
    order, token = make(api)

    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    second_prompt = fake_openai.requests[1]["messages"][-1]["content"]
    assert "Attempt 1 was rejected by quality checks: no_images_or_links:" in second_prompt
    assert order.current_version is not None
    assert EVIL_HOST not in order.current_version.body_markdown
    content = api.get(f"/api/v1/purchase/content/{order.id}", **bearer(token)).json()
    assert_loads_nothing_foreign(content["bodyHtml"])
    page = client.get(f"/orders/{order.id}/", {"token": token}, follow=True)
    assert page.status_code == 200 and "Your order" in page.content.decode()
    assert_loads_nothing_foreign(page.content.decode())


# What an editor's edit or an old version may still hold: a tracking image, and links a browser
# would resolve against another host or against our own site.
STORED = (
    "\n\nSee the chart below. ![chart](//evil.example.net/track.gif) ![local](/static/pixel.gif) "
    "[partner](//evil.example.net/p) [login](/wp-login.php) [up](../secret) [odd](https:evil.example.net) "
    "[slash](/\\evil.example.net/)\n"
)
LEFT_OUT = ("/static/pixel.gif", "/wp-login.php", "../secret", "evil.example.net")


def assert_stored_markup_left_out(html: str) -> None:
    assert_loads_nothing_foreign(html)
    for fragment in LEFT_OUT:
        assert fragment not in html


def test_a_stored_tracking_image_or_relative_link_reaches_no_public_page_api_order_page_or_review_page(
    api: Any, client: Any, run_worker: Any
) -> None:
    article = make_published_article(body_markdown=ARTICLE_BODY + STORED)
    order, token = make_order(article, anchor_text=BACKLINK_ANCHOR)
    paid(api, order)
    run_worker()  # the offline writer: the draft keeps the base's paragraphs, the stored image included
    order.refresh_from_db()
    assert order.current_version is not None
    assert "(//evil.example.net/track.gif)" in order.current_version.body_markdown  # still in the text

    public = client.get(f"/articles/{article.slug}/")
    assert public.status_code == 200
    assert "See the chart below." in public.content.decode()
    assert_stored_markup_left_out(public.content.decode())
    assert_stored_markup_left_out(api.get(f"/api/v1/articles/{article.pk}/").json()["bodyHtml"])
    assert_stored_markup_left_out(
        api.get(f"/api/v1/purchase/content/{order.id}", **bearer(token)).json()["bodyHtml"]
    )
    page = client.get(f"/orders/{order.id}/", {"token": token}, follow=True)
    assert page.status_code == 200 and "Your order" in page.content.decode()
    assert_stored_markup_left_out(page.content.decode())

    client.force_login(User.objects.create_superuser("editor", "editor@example.com", "pw"))
    review = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    assert "See the chart below." in review
    assert_stored_markup_left_out(review)
