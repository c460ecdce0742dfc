"""Payments, all paths: the success URL fulfils a paid order even when the webhook is withheld,
idempotently with the webhook when it comes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from purchases.models import Order, OrderStatus, OrderTransition
from queueing.models import JobRequest
from tests.conftest import signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def back_from_checkout(order: Order, token: str) -> Any:
    """The customer's browser on Stripe's success URL, following the token cookie swap."""
    page = reverse("purchases:order-page", kwargs={"order_id": order.id})
    return Client().get(f"{page}?token={token}&paid=1", follow=True)


def test_a_paid_order_is_fulfilled_from_the_success_url_with_the_webhook_withheld(
    article: Any, fake_stripe: Any
) -> None:
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent="pi_back")

    response = back_from_checkout(order, token)

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.stripe_payment_intent_id) == (OrderStatus.PROCESSING, "pi_back")
    assert order.paid_at is not None
    assert [r.job_id for r in JobRequest.objects.filter(subject_id=order.id)] == [
        f"backlink-{order.id}-run-1"
    ]
    move = OrderTransition.objects.filter(order=order).last()
    assert move is not None and (move.to_status, move.source) == ("PROCESSING", "success_url")
    retrieved = [
        r for r in fake_stripe.requests if r.method == "GET" and r.path.startswith("/v1/checkout/sessions/")
    ]
    assert [r.path for r in retrieved] == [f"/v1/checkout/sessions/{order.stripe_checkout_session_id}"]


def test_the_webhook_after_the_success_url_fulfils_nothing_twice(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    back_from_checkout(order, token)

    response = signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))

    assert response.json()["outcome"] == "already_paid"
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1
    back_from_checkout(order, token)  # a reload asks Stripe no more: the order is paid
    assert len([r for r in fake_stripe.requests if r.method == "GET"]) == 1


def test_the_success_url_after_the_webhook_asks_stripe_nothing(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))

    back_from_checkout(order, token)

    assert [r for r in fake_stripe.requests if r.method == "GET"] == []
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1


def test_an_unpaid_session_on_the_success_url_leaves_the_order_waiting(
    article: Any, fake_stripe: Any
) -> None:
    order, token = make_order(article)

    response = back_from_checkout(order, token)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert not JobRequest.objects.filter(subject_id=order.id).exists()


def test_a_session_paid_for_another_amount_is_not_fulfilled_from_the_success_url(
    article: Any, fake_stripe: Any
) -> None:
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    fake_stripe.sessions[order.stripe_checkout_session_id]["amount_total"] = 1

    back_from_checkout(order, token)

    order.refresh_from_db()
    assert (order.status, order.paid_at) == (OrderStatus.PENDING_PAYMENT, None)


def test_stripe_down_on_the_success_url_still_shows_the_page_and_the_webhook_fulfils_later(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    fake_stripe.fail_next(503, headers={"Stripe-Should-Retry": "false"})

    response = back_from_checkout(order, token)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
