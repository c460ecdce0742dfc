"""Order tokens: out of addresses after the first visit, and dead some time after the order ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from purchases.models import Order, OrderStatus, OrderTransition
from tests.factories import make_order

pytestmark = pytest.mark.django_db

S = OrderStatus


def cookie_name(order: Order) -> str:
    return f"order_token_{order.id.hex}"


def test_an_email_link_is_swapped_for_an_httponly_cookie_and_the_address_loses_the_token(
    article: Any,
) -> None:
    order, token = make_order(article)
    client = Client()

    response = client.get(f"/orders/{order.id}/?token={token}&paid=1")

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.id}/?paid=1"
    cookie = response.cookies[cookie_name(order)]
    assert cookie.value == token
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == f"/orders/{order.id}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Payment received" in page.content.decode()  # back from Stripe: still clearing
    # Only for the page's own script (data-token, for the status API); in no link or address.
    assert page.content.decode().count(token) == 1
    assert f'data-token="{token}"' in page.content.decode()


def test_the_clean_address_without_the_cookie_is_404(article: Any) -> None:
    order, token = make_order(article)
    Client().get(f"/orders/{order.id}/?token={token}")

    assert Client().get(f"/orders/{order.id}/").status_code == 404


def test_a_wrong_token_in_the_address_is_404_and_sets_no_cookie(article: Any) -> None:
    order, token = make_order(article)

    response = Client().get(f"/orders/{order.id}/?token={token[:-1]}x")

    assert response.status_code == 404
    assert cookie_name(order) not in response.cookies


def test_the_cookie_of_one_order_opens_no_other_order(article: Any) -> None:
    mine, my_token = make_order(article)
    theirs, _ = make_order(article, customer_email="other@example.com")
    client = Client()
    client.cookies[cookie_name(theirs)] = my_token

    assert client.get(f"/orders/{theirs.id}/").status_code == 404


def test_the_api_still_takes_the_bearer_token(api: Any, article: Any) -> None:
    order, token = make_order(article)

    response = api.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200


def ended(order: Order, status: str, *, days_ago: float) -> None:
    """The order reached ``status`` (an end) ``days_ago`` days ago, as its transition records."""
    Order.objects.filter(pk=order.pk).update(status=status)
    transition = OrderTransition.objects.create(
        order=order, from_status=S.ADMIN_REVIEW, to_status=status, source="staff"
    )
    OrderTransition.objects.filter(pk=transition.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )


def opens(order: Order, token: str, api: Any) -> tuple[int, int, int]:
    """Status codes of the email link, the page through its cookie, and the API's Bearer token."""
    client = Client()
    link = client.get(f"/orders/{order.id}/?token={token}", follow=True).status_code
    cookied = Client()
    cookied.cookies[cookie_name(order)] = token
    page = cookied.get(f"/orders/{order.id}/").status_code
    status = api.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {token}").status_code
    return link, page, status


@pytest.mark.parametrize("status", [S.PUBLISHED, S.REFUNDED, S.FAILED])
def test_an_old_link_opens_nothing_once_the_ttl_after_the_order_ended_has_passed(
    api: Any, article: Any, settings: Any, status: str
) -> None:
    settings.ORDER_TOKEN_TTL_DAYS = 30
    order, token = make_order(article)
    ended(order, status, days_ago=31)

    assert opens(order, token, api) == (404, 404, 404)


@pytest.mark.parametrize("status", [S.PUBLISHED, S.REFUNDED, S.FAILED])
def test_a_link_still_opens_within_the_ttl_after_the_order_ended(
    api: Any, article: Any, settings: Any, status: str
) -> None:
    settings.ORDER_TOKEN_TTL_DAYS = 30
    order, token = make_order(article)
    ended(order, status, days_ago=29)

    assert opens(order, token, api) == (200, 200, 200)


def test_an_open_order_link_never_expires(api: Any, article: Any, settings: Any) -> None:
    settings.ORDER_TOKEN_TTL_DAYS = 1
    order, token = make_order(article)
    Order.objects.filter(pk=order.pk).update(
        status=S.QUALITY_CHECK, created_at=timezone.now() - timedelta(days=400)
    )

    assert opens(order, token, api) == (200, 200, 200)


def test_a_failed_order_that_staff_retried_opens_again(api: Any, article: Any, settings: Any) -> None:
    settings.ORDER_TOKEN_TTL_DAYS = 30
    order, token = make_order(article)
    ended(order, S.FAILED, days_ago=60)
    Order.objects.filter(pk=order.pk).update(status=S.PROCESSING)

    assert opens(order, token, api) == (200, 200, 200)
