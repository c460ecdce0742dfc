"""Refunds from our side: staff through ``order_refund``, and the automatic refund after a final failure.

Stripe is the fake server at the HTTP boundary, so the official library sends the refund requests.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import django_rq
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from purchases.actions import PermissionRequired
from purchases.errors import NotRefundable, PaymentProviderError
from purchases.models import Order, OrderStatus, OrderTransition
from purchases.services.refunds import order_refund
from queueing.models import JobRequest
from tests.conftest import checkout_event, job_left_on_queue, outbox_for, signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

NO_MARK = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches in the morning, memory foam pillows can help keep your spine aligned at night.",
    }
)
REFUND_SUBJECT = "Your order has been refunded"
FAILED_SUBJECT = "We could not complete your order"


def queued_job_ids() -> list[str]:
    return django_rq.get_queue("backlink-integration").job_ids


def paid_at_stripe(api: Any, article: Any, fake_stripe: Any) -> Order:
    """An order paid through the fake Stripe Checkout, its webhook delivered: PROCESSING, job queued."""
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    payload = fake_stripe.checkout_session_event(order.stripe_checkout_session_id)
    assert signed_post(api, payload).json()["outcome"] == "paid"
    order.refresh_from_db()
    return order


def refund_requests(fake_stripe: Any) -> list[Any]:
    return [r for r in fake_stripe.requests if r.path == "/v1/refunds"]


@pytest.fixture
def staff(db: Any) -> Any:
    user = get_user_model().objects.create_user("editor", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="refund_order"))
    return get_user_model().objects.get(pk=user.pk)


def refunder() -> Any:
    """A staff user allowed to refund (made on first use)."""
    user, created = get_user_model().objects.get_or_create(username="refunder", defaults={"is_staff": True})
    if created:
        user.user_permissions.add(Permission.objects.get(codename="refund_order"))
    return get_user_model().objects.get(pk=user.pk)


def test_a_staff_refund_refunds_at_stripe_cancels_the_job_and_emails_the_customer_once(
    api: Any, article: Any, fake_stripe: Any, staff: Any, mailoutbox: Any, run_worker: Any
) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    assert queued_job_ids() == [order.queue_job_id]

    order_refund(order_id=order.id, actor=staff, reason="The customer changed their mind.")

    [request] = refund_requests(fake_stripe)
    assert request.headers["idempotency-key"] == f"refund-{order.id}-full"
    assert request.body["payment_intent"] == order.stripe_payment_intent_id
    assert "amount" not in request.body  # in full: whatever is left
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == Decimal("49.00")
    assert order.stripe_refund_id == fake_stripe.refunds[0]["id"]
    last = OrderTransition.objects.filter(order=order).last()
    assert last is not None
    assert (last.from_status, last.to_status, last.source, last.actor, last.reason) == (
        "PROCESSING",
        "REFUNDED",
        "staff",
        staff,
        "The customer changed their mind.",
    )
    assert list(JobRequest.objects.filter(subject_id=order.id).values_list("state", flat=True)) == [
        "cancelled"
    ]
    assert queued_job_ids() == []
    [email] = outbox_for(order)
    assert email.subject == REFUND_SUBJECT
    assert "49.00 USD" in email.body and "The customer changed their mind." in email.body

    run_worker()
    assert not order.drafts.exists()
    assert len(outbox_for(order)) == 1


def test_refunding_twice_makes_one_stripe_refund(
    api: Any, article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    order_refund(order_id=order.id, actor=refunder(), reason="duplicate order")

    with pytest.raises(NotRefundable) as excinfo:
        order_refund(order_id=order.id, actor=refunder(), reason="duplicate order")

    assert excinfo.value.status_code == 409
    assert len(fake_stripe.refunds) == 1
    assert len(outbox_for(order)) == 1


def test_a_refund_retried_after_our_side_lost_it_is_replayed_by_stripe_not_made_again(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    order_refund(order_id=order.id, actor=refunder(), reason="first try")
    # As if our transaction had rolled back after Stripe made the refund.
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.PROCESSING, refunded_amount=0, stripe_refund_id=""
    )

    order = order_refund(order_id=order.id, actor=refunder(), reason="second try")

    assert len(fake_stripe.refunds) == 1
    assert order.status == OrderStatus.REFUNDED
    assert order.stripe_refund_id == fake_stripe.refunds[0]["id"]


def test_a_partial_refund_records_the_amount_keeps_the_status_and_tells_staff(
    api: Any, article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid_at_stripe(api, article, fake_stripe)

    order = order_refund(order_id=order.id, actor=refunder(), reason="late delivery", amount=Decimal("10.00"))

    [request] = refund_requests(fake_stripe)
    assert request.headers["idempotency-key"] == f"refund-{order.id}-1000"
    assert request.body["amount"] == "1000"
    assert order.status == OrderStatus.PROCESSING
    assert order.refunded_amount == Decimal("10.00")
    assert queued_job_ids() == [order.queue_job_id]
    assert [m.subject for m in outbox_for(order)] == [REFUND_SUBJECT]
    assert any(f"Partial refund on order {order.id}" in m.subject for m in mailoutbox)


def test_a_full_refund_after_a_partial_one_refunds_what_is_left(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    order_refund(order_id=order.id, actor=refunder(), reason="late delivery", amount=Decimal("10.00"))

    order = order_refund(order_id=order.id, actor=refunder(), reason="cancelled after all")

    assert refund_requests(fake_stripe)[1].headers["idempotency-key"] == f"refund-{order.id}-full-after-1000"
    assert [r["amount"] for r in fake_stripe.refunds] == [1000, 3900]
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == Decimal("49.00")


def test_more_than_is_left_to_refund_is_refused(api: Any, article: Any, fake_stripe: Any) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    with pytest.raises(NotRefundable):
        order_refund(order_id=order.id, actor=refunder(), reason="typo", amount=Decimal("49.01"))
    assert fake_stripe.refunds == []


def test_stripe_down_is_a_503_and_changes_nothing(
    api: Any, article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    fake_stripe.fail_next(503, headers={"Stripe-Should-Retry": "false"})

    with pytest.raises(PaymentProviderError) as excinfo:
        order_refund(order_id=order.id, actor=refunder(), reason="customer asked")

    assert excinfo.value.status_code == 503
    order.refresh_from_db()
    assert (order.status, order.refunded_amount, order.stripe_refund_id) == (OrderStatus.PROCESSING, 0, "")
    assert list(JobRequest.objects.filter(subject_id=order.id).values_list("state", flat=True)) == [
        "enqueued"
    ]
    assert queued_job_ids() == [order.queue_job_id]
    assert outbox_for(order) == []


def test_an_unpaid_order_is_not_refundable(article: Any, fake_stripe: Any) -> None:
    order, _ = make_order(article)
    with pytest.raises(NotRefundable) as excinfo:
        order_refund(order_id=order.id, actor=refunder(), reason="never paid")
    assert excinfo.value.code == "not_refundable"
    assert refund_requests(fake_stripe) == []


def test_in_local_test_mode_the_simulated_refund_runs_the_same_flow(
    api: Any, article: Any, mailoutbox: Any, local_test_payments: Any
) -> None:
    order, _ = make_order(article)
    signed_post(api, checkout_event(order))

    order = order_refund(order_id=order.id, actor=refunder(), reason="demo")

    assert order.status == OrderStatus.REFUNDED
    assert order.stripe_refund_id.startswith("re_test_local_")
    assert [m.subject for m in outbox_for(order)] == [REFUND_SUBJECT]
    assert local_test_payments.requests == []  # Stripe was never called


def test_a_job_that_still_runs_for_a_refunded_order_stores_nothing_and_sends_nothing(
    api: Any, article: Any, fake_stripe: Any, mailoutbox: Any, run_worker: Any
) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    order_refund(order_id=order.id, actor=refunder(), reason="customer asked")
    # As if taking it off the queue had failed (Redis unreachable at that moment).
    job_left_on_queue(order)

    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.current_version is None
    assert not order.drafts.exists()
    assert [m.subject for m in outbox_for(order)] == [REFUND_SUBJECT]
    assert JobRequest.objects.get(subject_id=order.id).state == JobRequest.State.CANCELLED


def test_a_final_failure_is_refunded_automatically_with_each_email_once(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK)
    order = paid_at_stripe(api, article, fake_stripe)

    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert "Quality checks failed 3 times" in order.failure_reason
    [request] = refund_requests(fake_stripe)
    assert request.headers["idempotency-key"] == f"refund-{order.id}-full"
    moves = list(OrderTransition.objects.filter(order=order).values_list("to_status", "source"))
    assert moves == [("PROCESSING", "stripe"), ("FAILED", "worker"), ("REFUNDED", "system")]
    emails = outbox_for(order)
    assert [m.subject for m in emails] == [FAILED_SUBJECT, REFUND_SUBJECT]
    assert "being refunded in full" in emails[0].body


def test_when_stripe_refuses_the_automatic_refund_the_order_stays_failed_and_staff_are_asked(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK)
    order = paid_at_stripe(api, article, fake_stripe)
    fake_stripe.fail_next(503, n=5, headers={"Stripe-Should-Retry": "false"})

    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert fake_stripe.refunds == []
    assert [m.subject for m in outbox_for(order)] == [FAILED_SUBJECT]
    assert any(f"Refund order {order.id} by hand" in m.subject for m in mailoutbox)
    assert JobRequest.objects.get(subject_id=order.id).state == JobRequest.State.DONE


def test_with_auto_refund_off_a_final_failure_stays_failed(
    api: Any,
    article: Any,
    fake_stripe: Any,
    fake_openai: Any,
    run_worker: Any,
    mailoutbox: Any,
    settings: Any,
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK)
    order = paid_at_stripe(api, article, fake_stripe)

    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert fake_stripe.refunds == []
    emails = outbox_for(order)
    assert [m.subject for m in emails] == [FAILED_SUBJECT]
    assert "will contact you about a new attempt or a refund" in emails[0].body


def test_staff_without_the_refund_permission_cannot_refund(api: Any, article: Any, fake_stripe: Any) -> None:
    order = paid_at_stripe(api, article, fake_stripe)
    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    with pytest.raises(PermissionRequired):
        order_refund(order_id=order.id, actor=clerk, reason="not allowed")
    assert refund_requests(fake_stripe) == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def test_a_refund_email_key_holds_the_longest_stripe_charge_id(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    from purchases.models import EmailKind, EmailRecord
    from purchases.services.emails import order_email_queue

    order = paid_at_stripe(api, article, fake_stripe)
    record = order_email_queue(order=order, kind=EmailKind.REFUNDED, key="charge-" + "c" * 255)
    assert EmailRecord.objects.get(pk=record.pk).key.endswith("c" * 255)
