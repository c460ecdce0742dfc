"""The customer-facing HTML: ordering from the site and the order page."""

from __future__ import annotations

from typing import Any

import pytest

from purchases.models import Order, OrderStatus
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order, make_published_article

FORM = {
    "orderType": "backlink",
    "targetUrl": "https://www.example-store.com/pillows",
    "anchorText": "memory foam pillows",
    "customerEmail": "buyer@example.com",
    "customerNotes": "",
}


@pytest.mark.django_db
def test_the_catalog_page_offers_a_backlink_in_each_article_with_slots(client: Any) -> None:
    open_article = make_published_article()
    full = make_published_article(max_backlinks=1)
    make_order(full)
    page = client.get("/").content.decode()
    assert f"/articles/{open_article.slug}/buy/" in page
    assert f"/articles/{full.slug}/buy/" not in page
    assert "No backlink slots left" in page
    assert "Good sleep is the cheapest performance upgrade" in page  # the excerpt


@pytest.mark.django_db
def test_buying_a_backlink_from_the_site_goes_to_payment(client: Any) -> None:
    article = make_published_article()
    assert b"Buy a backlink" in client.get(f"/articles/{article.slug}/buy/").content
    response = client.post(f"/articles/{article.slug}/buy/", {**FORM, "articleId": article.pk})
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.checkout_url
    assert (order.article, order.anchor_text, order.status) == (
        article,
        "memory foam pillows",
        "PENDING_PAYMENT",
    )


@pytest.mark.django_db
def test_a_bad_order_form_names_the_field_and_creates_nothing(client: Any) -> None:
    article = make_published_article()
    response = client.post(
        f"/articles/{article.slug}/buy/", {**FORM, "articleId": article.pk, "targetUrl": "http://localhost/x"}
    )
    assert response.status_code == 200
    assert "Must use a public host name." in response.content.decode()
    assert 'value="memory foam pillows"' in response.content.decode()  # what they typed is kept
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_port_out_of_range_in_the_order_form_is_a_field_error_not_a_500(client: Any) -> None:
    response = client.post(
        "/order/article/",
        {
            **FORM,
            "orderType": "article",
            "topic": "Sleep well",
            "targetUrl": "https://www.example-store.com:99999/x",
        },
    )
    assert response.status_code == 200
    assert "The port must be a number from 1 to 65535." in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_ordering_a_sponsored_article_from_the_site_goes_to_payment(client: Any) -> None:
    form = {
        **FORM,
        "orderType": "article",
        "topic": "Choosing a pillow",
        "keywords": "pillow loft, support",
        "wordCount": "900",
    }
    response = client.post("/order/article/", form)
    order = Order.objects.get()
    assert response.status_code == 302
    assert (order.kind, order.keywords, order.word_count) == ("article", ["pillow loft", "support"], 900)


@pytest.mark.django_db(transaction=True)
def test_the_order_page_buttons_redirect_and_say_what_happened(
    client: Any, api: Any, run_worker: Any
) -> None:
    article = make_published_article()
    order, token = make_order(article)
    signed_post(api, checkout_event(order, event_id="evt_page"))
    run_worker()
    url = f"/orders/{order.id}/?token={token}"
    page = client.get(url, follow=True).content.decode()
    assert '<div class="yours"' in page
    assert "Draft 1" in page

    response = client.post(url, {"action": "submit"})
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.id}/"
    followed = client.get(url, follow=True).content.decode()
    assert "Sent to our editors" in followed
    order.refresh_from_db()
    assert order.status == OrderStatus.ADMIN_REVIEW

    client.post(url, {"action": "regenerate"})
    assert "That is not possible right now" in client.get(url, follow=True).content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.ADMIN_REVIEW
