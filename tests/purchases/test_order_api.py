"""Order endpoints: the token rule and the status/content shapes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("endpoint", ["status", "content"])
def test_a_missing_wrong_or_foreign_token_is_404_like_a_missing_order(
    api: Any, article: Any, endpoint: str
) -> None:
    order, token = make_order(article)
    _, other_token = make_order(article)
    url = f"/api/v1/purchase/{endpoint}/{order.id}"
    missing = api.get(url)
    answers = [
        missing,
        api.get(url, HTTP_AUTHORIZATION="Bearer nope"),
        api.get(url, HTTP_AUTHORIZATION=f"Bearer {other_token}"),
        api.get(url, HTTP_AUTHORIZATION=f"Token {token}"),
        api.get(
            f"/api/v1/purchase/{endpoint}/00000000-0000-0000-0000-000000000000",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        ),
        api.get(f"/api/v1/purchase/{endpoint}/not-a-uuid", HTTP_AUTHORIZATION=f"Bearer {token}"),
    ]
    assert [a.status_code for a in answers] == [404] * 6
    assert all(a.json() == missing.json() for a in answers)


def test_status_of_an_unpaid_order(api: Any, article: Any) -> None:
    order, token = make_order(article)
    data = api.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert data["status"] == "PENDING_PAYMENT"
    assert data["actions"] == ["pay"]
    assert data["queue"]["jobId"] is None
    assert data["preview"] == ""
    assert data["regenerationCount"] == 0


def test_rotating_the_salt_revokes_the_token(api: Any, article: Any) -> None:
    from purchases.tokens import new_token_salt

    order, token = make_order(article)
    order.token_salt = new_token_salt()
    order.save(update_fields=["token_salt"])
    assert (
        api.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {token}").status_code
        == 404
    )


def test_the_order_page_needs_the_token(client: Any, article: Any) -> None:
    order, token = make_order(article)
    assert client.get(f"/orders/{order.id}/").status_code == 404
    page = client.get(f"/orders/{order.id}/?token={token}", follow=True)
    assert page.status_code == 200
    assert b"Pending payment" in page.content


@pytest.mark.django_db(transaction=True)
def test_the_test_mode_pay_button_delivers_a_signed_event_to_the_webhook(
    client: Any, live_server: Any, settings: Any, article: Any, local_test_payments: Any
) -> None:
    from purchases.models import OrderStatus, StripeEvent

    settings.SITE_URL = live_server.url
    order, _ = make_order(article)
    paid = client.post(f"/purchase/test-checkout/{order.stripe_checkout_session_id}/")
    assert paid.status_code == 302 and paid["Location"].startswith(f"/orders/{order.id}/?token=")
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert StripeEvent.objects.get(order=order).type == "checkout.session.completed"
    page = client.get(f"/purchase/test-checkout/{order.stripe_checkout_session_id}/")  # opened again later
    assert b"TEST MODE" in page.content
    assert b"Follow your order" in page.content


def test_the_test_payment_page_is_off_when_stripe_is_configured(
    client: Any, article: Any, settings: Any, local_test_payments: Any
) -> None:
    order, _ = make_order(article)
    settings.STRIPE_LOCAL_TEST_MODE = False
    assert client.get(f"/purchase/test-checkout/{order.stripe_checkout_session_id}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_test_mode_pay_button_works_for_an_article_order(
    client: Any, live_server: Any, settings: Any, local_test_payments: Any
) -> None:
    from purchases.models import OrderStatus
    from tests.factories import make_article_order

    settings.SITE_URL = live_server.url
    order, _ = make_article_order(topic="Quiet mornings at home")
    page = client.get(f"/purchase/test-checkout/{order.stripe_checkout_session_id}/")
    assert "Pay for your sponsored article" in page.content.decode()
    assert "Quiet mornings at home" in page.content.decode()
    client.post(f"/purchase/test-checkout/{order.stripe_checkout_session_id}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def test_the_order_page_of_an_article_order_shows_its_topic_before_the_first_draft(
    client: Any, db: Any
) -> None:
    from tests.factories import make_article_order

    order, token = make_article_order(topic="Quiet mornings at home")
    page = client.get(f"/orders/{order.id}/?token={token}", follow=True)
    assert page.status_code == 200
    assert "Quiet mornings at home" in page.content.decode()
