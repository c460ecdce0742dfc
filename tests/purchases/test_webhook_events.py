"""Stripe events in any order (fault-injection scenario 2): nothing paid is lost, nothing refunded is done.

Each scenario delivers signed events to the real webhook endpoint, then runs a real worker: an
order that should never generate has no job request, no queued job and no version afterwards.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import django_rq
import pytest
from django.utils import timezone

from purchases.models import Order, OrderStatus, StripeEvent
from purchases.services.refunds import order_refund
from queueing.models import JobRequest
from tests.conftest import checkout_event, job_left_on_queue, outbox_for, signed_post
from tests.factories import make_order, make_published_article

pytestmark = pytest.mark.django_db(transaction=True)

REFUND_SUBJECT = "Your order has been refunded"


def queued_job_ids() -> list[str]:
    return django_rq.get_queue("backlink-integration").job_ids


def charge_refunded(
    order: Order,
    *,
    event_id: str,
    amount_refunded: int,
    payment_intent: str = "pi_123",
    with_order_id: bool = True,
) -> bytes:
    """A ``charge.refunded`` event as Stripe sends it: the charge, with the cumulative amount refunded."""
    charge = {
        "id": "ch_123",
        "object": "charge",
        "payment_intent": payment_intent,
        "amount": order.amount_minor,
        "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= order.amount_minor,
        "currency": order.currency,
        "metadata": {"order_id": str(order.id)} if with_order_id else {},
    }
    event = {
        "id": event_id,
        "object": "event",
        "type": "charge.refunded",
        "created": 1,
        "livemode": False,
        "data": {"object": charge},
    }
    return json.dumps(event).encode()


def post(api: Any, payload: bytes) -> str:
    response = signed_post(api, payload)
    assert response.status_code == 200
    return str(response.json()["outcome"])


def slots_left(api: Any, article: Any) -> int:
    return int(api.get(f"/api/v1/articles/{article.pk}/").json()["slotsLeft"])


def assert_never_generated(order: Order, run_worker: Any) -> None:
    run_worker()
    assert not JobRequest.objects.filter(subject_id=order.id).exists()
    assert queued_job_ids() == []
    assert not order.drafts.exists()


def test_a_full_refund_before_the_completion_ends_refunded_and_never_generates(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)

    assert (
        post(api, charge_refunded(order, event_id="evt_r", amount_refunded=order.amount_minor)) == "refunded"
    )
    assert post(api, checkout_event(order, event_id="evt_c")) == "already_paid"

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == Decimal("49.00")
    assert order.paid_at is not None and order.stripe_payment_intent_id == "pi_123"
    assert_never_generated(order, run_worker)
    assert [m.subject for m in outbox_for(order)] == [REFUND_SUBJECT]


def test_a_refund_before_the_completion_that_names_no_order_is_applied_when_the_payment_arrives(
    api: Any, article: Any, run_worker: Any
) -> None:
    order, _ = make_order(article)
    refund = charge_refunded(order, event_id="evt_r", amount_refunded=order.amount_minor, with_order_id=False)

    assert post(api, refund) == "refund_unmatched"
    assert post(api, checkout_event(order, event_id="evt_c")) == "refunded_before_payment"

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert StripeEvent.objects.get(event_id="evt_r").order_id == order.id
    assert_never_generated(order, run_worker)


def test_an_unpaid_completion_then_an_async_failure_ends_failed_and_never_generates(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)

    assert (
        post(api, checkout_event(order, event_id="evt_c", payment_status="unpaid"))
        == "awaiting_async_payment"
    )
    event = checkout_event(
        order, event_id="evt_f", event_type="checkout.session.async_payment_failed", payment_status="unpaid"
    )
    assert post(api, event) == "payment_failed"

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.failure_reason == "payment failed"
    assert slots_left(api, article) == article.max_backlinks
    assert_never_generated(order, run_worker)
    [email] = outbox_for(order)
    assert email.subject == "We could not complete your order"
    assert "No money was taken" in email.body


def test_with_async_holds_on_an_unpaid_completion_holds_the_slot_while_the_payment_clears(
    api: Any, article: Any, settings: Any
) -> None:
    settings.ASYNC_PAYMENT_HOLDS_SLOT = True
    order, _ = make_order(article)

    post(api, checkout_event(order, event_id="evt_c", payment_status="unpaid"))

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.checkout_expires_at is not None
    assert order.checkout_expires_at > timezone.now() + timedelta(days=13)
    assert slots_left(api, article) == article.max_backlinks - 1


def test_an_unpaid_completed_checkout_holds_nothing_past_the_checkout_expiry_by_default(
    api: Any, article: Any
) -> None:
    order, _ = make_order(article)
    expiry = order.checkout_expires_at

    assert (
        post(api, checkout_event(order, event_id="evt_c", payment_status="unpaid"))
        == "awaiting_async_payment"
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.checkout_expires_at == expiry
    Order.objects.filter(pk=order.pk).update(checkout_expires_at=timezone.now() - timedelta(seconds=1))
    assert slots_left(api, article) == article.max_backlinks


def test_a_delayed_payment_that_clears_after_the_expiry_into_a_sold_out_article_still_goes_ahead(
    api: Any, mailoutbox: Any
) -> None:
    article = make_published_article(max_backlinks=1)
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c", payment_status="unpaid"))
    Order.objects.filter(pk=order.pk).update(checkout_expires_at=timezone.now() - timedelta(seconds=1))
    other, _ = make_order(article)
    assert post(api, checkout_event(other, event_id="evt_o")) == "paid"

    event = checkout_event(order, event_id="evt_s", event_type="checkout.session.async_payment_succeeded")
    assert post(api, event) == "paid"

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert any("over the article's limit" in m.subject for m in mailoutbox)


def test_an_unpaid_completion_then_async_success_starts_the_work(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c", payment_status="unpaid"))

    event = checkout_event(order, event_id="evt_s", event_type="checkout.session.async_payment_succeeded")
    assert post(api, event) == "paid"

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert queued_job_ids() == [order.queue_job_id]


def test_an_expired_checkout_fails_the_order_and_frees_the_slot_once(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    assert slots_left(api, article) == article.max_backlinks - 1
    expired = checkout_event(
        order, event_id="evt_x", event_type="checkout.session.expired", payment_status="unpaid"
    )

    assert post(api, expired) == "expired"
    assert post(api, expired) == "duplicate"
    again = checkout_event(
        order, event_id="evt_x2", event_type="checkout.session.expired", payment_status="unpaid"
    )
    assert post(api, again) == "ignored_not_pending"

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.failure_reason == "checkout expired"
    assert order.transitions.count() == 1
    assert slots_left(api, article) == article.max_backlinks
    assert_never_generated(order, run_worker)
    assert outbox_for(order) == []


def test_a_payment_for_an_expired_checkout_is_still_honoured(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    expired = checkout_event(
        order, event_id="evt_x", event_type="checkout.session.expired", payment_status="unpaid"
    )
    post(api, expired)

    assert post(api, checkout_event(order, event_id="evt_c")) == "paid"

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.failure_reason == ""
    assert queued_job_ids() == [order.queue_job_id]


def test_an_expiry_after_the_payment_changes_nothing(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))
    expired = checkout_event(
        order, event_id="evt_x", event_type="checkout.session.expired", payment_status="unpaid"
    )

    assert post(api, expired) == "ignored_not_pending"

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def test_a_partial_refund_is_recorded_for_staff_and_the_status_stays(
    api: Any, article: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))

    assert post(api, charge_refunded(order, event_id="evt_r1", amount_refunded=1000)) == "partially_refunded"
    assert (
        post(api, charge_refunded(order, event_id="evt_r2", amount_refunded=1000))
        == "refund_already_recorded"
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.refunded_amount == Decimal("10.00")
    assert queued_job_ids() == [order.queue_job_id]
    staff = [m for m in mailoutbox if f"Partial refund on order {order.id}" in m.subject]
    assert len(staff) == 1
    assert outbox_for(order) == []


def test_a_refund_reported_above_the_order_price_records_the_price(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))
    charge = json.loads(charge_refunded(order, event_id="evt_r", amount_refunded=10**9))
    charge["data"]["object"]["amount"] = 10**9  # more than the order, still within the amount columns

    assert post(api, json.dumps(charge).encode()) == "refunded"

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == order.amount


@pytest.mark.parametrize("key", ["amount", "amount_refunded"])
@pytest.mark.parametrize("value", [10**30, 10**20, 10**10])
def test_a_signed_refund_of_more_than_our_columns_hold_is_400_invalid_event_and_changes_nothing(
    api: Any, article: Any, key: str, value: int
) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))
    charge = json.loads(charge_refunded(order, event_id="evt_r", amount_refunded=order.amount_minor))
    charge["data"]["object"][key] = value
    if key == "amount_refunded":
        charge["data"]["object"]["amount"] = value

    response = signed_post(api, json.dumps(charge).encode())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.refunded_amount == 0
    assert not StripeEvent.objects.filter(event_id="evt_r").exists()


def test_the_largest_amount_our_columns_hold_is_still_accepted(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))
    charge = json.loads(charge_refunded(order, event_id="evt_r", amount_refunded=order.amount_minor))
    charge["data"]["object"]["amount"] = 9_999_999_999  # 99,999,999.99 USD: the columns' largest

    assert post(api, json.dumps(charge).encode()) == "partially_refunded"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_signed_event_carrying_a_number_json_cannot_store_is_400_invalid_event(
    api: Any, article: Any, number: str
) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))
    payload = charge_refunded(order, event_id="evt_r", amount_refunded=0).replace(
        b'"created": 1', b'"created": ' + number.encode()
    )

    response = signed_post(api, payload)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"
    assert not StripeEvent.objects.filter(event_id="evt_r").exists()


def paid_event_for(order: Order, *, event_id: str, amount_total: int, currency: str) -> bytes:
    event = json.loads(checkout_event(order, event_id=event_id))
    event["data"]["object"].update(amount_total=amount_total, currency=currency)
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    ("amount_total", "currency"),
    [(1, "jpy"), (1, "usd"), (None, "usd"), ("amount", "usd")],
    ids=["one-yen", "one-cent", "no-amount", "text-amount"],
)
def test_a_signed_completion_paying_1_jpy_for_a_usd_order_is_refused_recorded_and_told_to_staff(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any, amount_total: Any, currency: str
) -> None:
    order, _ = make_order(article)
    assert (order.amount_minor, order.currency) != (amount_total, currency)

    response = signed_post(
        api, paid_event_for(order, event_id="evt_x", amount_total=amount_total, currency=currency)
    )

    order.refresh_from_db()
    if isinstance(amount_total, str):
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_event"
        assert not StripeEvent.objects.filter(event_id="evt_x").exists()
    else:
        assert response.status_code == 200 and response.json()["outcome"] == "amount_mismatch"
        record = StripeEvent.objects.get(event_id="evt_x")
        assert (record.outcome, record.order_id) == ("amount_mismatch", order.id)
        [notice] = [m for m in mailoutbox if f"Payment does not match order {order.id}" in m.subject]
        assert "not marked paid" in notice.body and str(order.amount_minor) in notice.body
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.paid_at is None and order.stripe_payment_intent_id == ""
    assert_never_generated(order, run_worker)


def test_the_right_payment_after_a_mismatched_one_still_pays_the_order(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    post(api, paid_event_for(order, event_id="evt_x", amount_total=1, currency="jpy"))

    assert post(api, checkout_event(order, event_id="evt_ok")) == "paid"

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def test_a_mismatched_async_payment_success_is_refused_too(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_u", payment_status="unpaid"))
    event = json.loads(
        checkout_event(order, event_id="evt_s", event_type="checkout.session.async_payment_succeeded")
    )
    event["data"]["object"]["amount_total"] = order.amount_minor - 1

    assert post(api, json.dumps(event).encode()) == "amount_mismatch"

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_a_refund_arriving_while_the_job_is_queued_stops_it_and_the_worker_stores_nothing(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))
    order.refresh_from_db()
    assert queued_job_ids() == [order.queue_job_id]

    assert (
        post(api, charge_refunded(order, event_id="evt_r", amount_refunded=order.amount_minor)) == "refunded"
    )

    assert queued_job_ids() == []
    assert JobRequest.objects.get(subject_id=order.id).state == JobRequest.State.CANCELLED
    # Even if the job were still on the queue (Redis unreachable when it was taken off):
    job_left_on_queue(order)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert not order.drafts.exists()
    assert [m.subject for m in outbox_for(order)] == [REFUND_SUBJECT]


def test_the_webhook_echo_of_our_own_refund_changes_nothing_more(
    api: Any, article: Any, mailoutbox: Any, fake_stripe: Any
) -> None:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent="pi_123")
    post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id, event_id="evt_c"))
    order_refund(order_id=order.id, actor=None, reason="customer asked", source="system")

    assert post(api, charge_refunded(order, event_id="evt_r", amount_refunded=order.amount_minor)) == (
        "already_refunded"
    )

    order.refresh_from_db()
    assert order.refunded_amount == Decimal("49.00")
    assert order.transitions.filter(to_status=OrderStatus.REFUNDED).count() == 1
    assert [m.subject for m in outbox_for(order)] == [REFUND_SUBJECT]


def test_a_refund_in_the_stripe_dashboard_refunds_even_a_published_order_and_tells_staff(
    api: Any, article: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    post(api, checkout_event(order, event_id="evt_c"))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PUBLISHED)

    assert (
        post(api, charge_refunded(order, event_id="evt_r", amount_refunded=order.amount_minor)) == "refunded"
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert any(f"Published order {order.id} was refunded" in m.subject for m in mailoutbox)
