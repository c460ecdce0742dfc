"""Free holds and checkout floods: the caps on unpaid checkouts and the rate limits, through the real API.

Each test is named after the attack it stops (issue 9, "Slots can be held for free"). Clients are
told apart by ``REMOTE_ADDR``; test settings switch the limits off, so each test turns on the ones
it is about, at the production defaults unless it says otherwise.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from purchases.models import Order
from tests.conftest import checkout_event, signed_post
from tests.factories import make_published_article

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/purchase/checkout"
_seq = itertools.count(1)


def backlink(article: Any, *, email: str | None = None) -> dict[str, Any]:
    n = next(_seq)
    return {
        "articleId": article.pk,
        "targetUrl": f"https://shop{n}.example-store.com/pillows",
        "anchorText": "memory foam pillows",
        "customerEmail": email or f"buyer{n}@example.com",
    }


def new_article(*, email: str | None = None) -> dict[str, Any]:
    n = next(_seq)
    return {
        "orderType": "article",
        "topic": "Choosing a pillow for side sleepers",
        "targetUrl": f"https://shop{n}.example-store.com/pillows",
        "anchorText": "memory foam pillows",
        "customerEmail": email or f"writer{n}@example.com",
    }


def checkout(api: APIClient, data: dict[str, Any], *, ip: str = "203.0.113.7") -> Any:
    return api.post(CHECKOUT, data, format="json", REMOTE_ADDR=ip)


def slots_left(api: APIClient, article: Any) -> int:
    return int(api.get(f"/api/v1/articles/{article.pk}/").json()["slotsLeft"])


@pytest.fixture
def caps(settings: Any) -> Any:
    """The production defaults of the open-checkout caps."""
    settings.OPEN_CHECKOUTS_PER_EMAIL = 3
    settings.OPEN_CHECKOUTS_PER_CLIENT = 5
    settings.UNPAID_HOLDS_PER_ARTICLE = 1
    return settings


# --- Holds on an article --------------------------------------------------------------------------


def test_unpaid_checkouts_cannot_sell_out_an_article(api: APIClient, caps: Any) -> None:
    article = make_published_article(max_backlinks=3)

    for n in range(3):
        assert checkout(api, backlink(article), ip=f"198.51.100.{n}").status_code == 201

    assert slots_left(api, article) == 2
    assert checkout(api, backlink(article), ip="198.51.100.99").status_code == 201
    assert api.get("/").content.count(f"/articles/{article.slug}/buy/".encode()) == 1


def test_paid_orders_still_sell_an_article_out(api: APIClient, caps: Any) -> None:
    article = make_published_article(max_backlinks=2)
    for n in range(2):
        response = checkout(api, backlink(article), ip=f"198.51.100.{n}")
        order = Order.objects.get(pk=response.json()["orderId"])
        assert signed_post(api, checkout_event(order, event_id=f"evt_{n}")).status_code == 200

    response = checkout(api, backlink(article), ip="198.51.100.9")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sold_out"
    assert slots_left(api, article) == 0


def test_an_unpaid_hold_lasts_the_checkout_expiry_only(api: APIClient, caps: Any) -> None:
    article = make_published_article(max_backlinks=1)
    order = Order.objects.get(pk=checkout(api, backlink(article)).json()["orderId"])
    assert order.checkout_expires_at is not None
    assert order.checkout_expires_at <= timezone.now() + timedelta(minutes=caps.CHECKOUT_EXPIRY_MINUTES)
    assert slots_left(api, article) == 0

    Order.objects.filter(pk=order.pk).update(checkout_expires_at=timezone.now() - timedelta(seconds=1))

    assert slots_left(api, article) == 1
    assert checkout(api, backlink(article), ip="198.51.100.5").status_code == 201


# --- Open checkouts per address and per client -------------------------------------------------


def test_one_address_cannot_hold_more_than_three_unpaid_checkouts(api: APIClient, caps: Any) -> None:
    articles = [make_published_article() for _ in range(4)]
    for n, article in enumerate(articles[:3]):
        email = "Hoarder@Example.com" if n else "hoarder@example.com"
        assert checkout(api, backlink(article, email=email), ip=f"198.51.100.{n}").status_code == 201

    response = checkout(api, new_article(email="HOARDER@example.com"), ip="198.51.100.50")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "too_many_open_checkouts"
    assert "email address" in error["message"]
    assert Order.objects.count() == 3
    assert slots_left(api, articles[3]) == 3


def test_one_client_cannot_hold_more_than_five_unpaid_checkouts(api: APIClient, caps: Any) -> None:
    article = make_published_article(max_backlinks=20)
    for _ in range(4):
        assert checkout(api, backlink(article)).status_code == 201
    assert checkout(api, new_article()).status_code == 201

    response = checkout(api, backlink(article))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_open_checkouts"
    assert Order.objects.count() == 5
    assert set(Order.objects.values_list("client_ip", flat=True)) == {"203.0.113.7"}
    assert checkout(api, backlink(article), ip="203.0.113.8").status_code == 201


def test_a_paid_or_expired_checkout_no_longer_counts_against_its_address(api: APIClient, caps: Any) -> None:
    article = make_published_article(max_backlinks=20)
    first, second, _ = (
        Order.objects.get(pk=checkout(api, backlink(article, email="a@example.com")).json()["orderId"])
        for _ in range(3)
    )
    assert checkout(api, backlink(article, email="a@example.com")).status_code == 409

    assert signed_post(api, checkout_event(first, event_id="evt_paid")).status_code == 200
    Order.objects.filter(pk=second.pk).update(checkout_expires_at=timezone.now() - timedelta(seconds=1))

    assert checkout(api, backlink(article, email="a@example.com")).status_code == 201
    assert checkout(api, backlink(article, email="a@example.com")).status_code == 201
    assert checkout(api, backlink(article, email="a@example.com")).status_code == 409


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_from_one_address_cannot_pass_the_cap(caps: Any) -> None:
    article = make_published_article(max_backlinks=50)

    def one(n: int) -> int:
        try:
            return int(
                checkout(
                    APIClient(), backlink(article, email="rush@example.com"), ip=f"10.9.0.{n}"
                ).status_code
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one, range(8)))

    assert sorted(codes) == [201] * 3 + [409] * 5
    assert Order.objects.filter(customer_email="rush@example.com").count() == 3


# --- Rate limits ----------------------------------------------------------------------------------


def test_the_21st_checkout_in_an_hour_from_one_client_is_429_with_retry_after(
    api: APIClient, settings: Any, fake_stripe: Any
) -> None:
    settings.RATE_LIMIT_CHECKOUT = "20/hour"
    for _ in range(20):
        assert checkout(api, new_article()).status_code == 201

    response = checkout(api, new_article())

    assert response.status_code == 429
    assert response.json() == {
        "error": {"code": "rate_limited", "message": response.json()["error"]["message"], "fields": {}}
    }
    assert 0 < int(response["Retry-After"]) <= 3600
    assert f"{response['Retry-After']} seconds" in response.json()["error"]["message"]
    assert Order.objects.count() == 20
    assert len(fake_stripe.sessions) == 20
    assert checkout(api, new_article(), ip="203.0.113.99").status_code == 201


def test_checkouts_for_one_address_are_limited_from_any_client(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_CHECKOUT_EMAIL = "2/hour"
    assert checkout(api, new_article(email="many@example.com"), ip="198.51.100.1").status_code == 201
    assert checkout(api, new_article(email=" Many@Example.com"), ip="198.51.100.2").status_code == 201

    response = checkout(api, new_article(email="MANY@example.com"), ip="198.51.100.3")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert checkout(api, new_article(email="other@example.com"), ip="198.51.100.3").status_code == 201


def test_off_switches_the_checkout_limit_off(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_CHECKOUT = "off"
    settings.RATE_LIMIT_CHECKOUT_EMAIL = "off"

    codes = {checkout(api, new_article(email="bench@example.com")).status_code for _ in range(25)}

    assert codes == {201}


@pytest.mark.parametrize(
    ("setting", "method", "path"),
    [
        ("RATE_LIMIT_REGENERATE", "post", "/api/v1/purchase/regenerate-backlink"),
        ("RATE_LIMIT_SUBMIT", "post", "/api/v1/purchase/submit-for-review"),
        ("RATE_LIMIT_LOOKUP", "get", "/api/v1/purchase/status/{order_id}"),
        ("RATE_LIMIT_LOOKUP", "get", "/api/v1/purchase/content/{order_id}"),
        ("RATE_LIMIT_LOOKUP", "get", "/api/v1/purchase/versions/{order_id}"),
    ],
)
def test_hammering_an_order_endpoint_is_rate_limited_per_client(
    api: APIClient, settings: Any, setting: str, method: str, path: str
) -> None:
    setattr(settings, setting, "2/min")
    order_id = "0b8a9a3e-52b1-4a8e-9c61-3f1a6e0c2d11"
    url = path.format(order_id=order_id)

    def hit(ip: str) -> Any:
        body = {"orderId": order_id} if method == "post" else None
        return getattr(api, method)(url, body, format="json", REMOTE_ADDR=ip, HTTP_AUTHORIZATION="Bearer x")

    assert [hit("203.0.113.7").status_code for _ in range(2)] == [404, 404]
    limited = hit("203.0.113.7")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= 60
    assert hit("203.0.113.8").status_code == 404


# --- The site's pages go through the same limits ---------------------------------------------------

FORM = {
    "orderType": "backlink",
    "targetUrl": "https://www.example-store.com/pillows",
    "anchorText": "memory foam pillows",
    "customerNotes": "",
}


def test_the_order_form_past_the_checkout_limit_shows_a_message_not_json(client: Any, settings: Any) -> None:
    settings.RATE_LIMIT_CHECKOUT = "1/hour"
    article = make_published_article()
    url = f"/articles/{article.slug}/buy/"
    first = client.post(url, {**FORM, "articleId": article.pk, "customerEmail": "a@example.com"})
    assert first.status_code == 302

    page = client.post(url, {**FORM, "articleId": article.pk, "customerEmail": "b@example.com"})

    assert page.status_code == 429
    assert page["Content-Type"].startswith("text/html")
    assert int(page["Retry-After"]) > 0
    assert "Please try again in" in page.content.decode()
    assert 'value="b@example.com"' in page.content.decode()
    assert Order.objects.count() == 1


def test_the_order_page_buttons_go_through_the_same_limits(
    client: Any, api: APIClient, settings: Any
) -> None:
    settings.RATE_LIMIT_REGENERATE = "1/hour"
    article = make_published_article()
    data = checkout(api, backlink(article)).json()
    url = f"/orders/{data['orderId']}/?token={data['orderToken']}"

    refused = client.post(url, {"action": "regenerate"}, follow=True).content.decode()
    limited = client.post(url, {"action": "regenerate"}, follow=True)

    assert "That is not possible right now" in refused
    assert limited.status_code == 200
    assert "Please try again in" in limited.content.decode()
