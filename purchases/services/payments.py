"""Payment events of an order: confirmed (the work starts), still clearing, failed, or never made.

Called by the Stripe webhook and the Stripe reconciliation. Each takes the order's row lock and
moves it only when its action's guard (``purchases.actions``: pay, fail_payment) allows, so events
may arrive in any order and twice.

A payment counts only for what the order costs: a paid Checkout Session whose ``amount_total`` or
``currency`` differs from the order's (a forged event signed with a leaked secret, a session
edited by hand) raises ``PaymentMismatch`` and moves nothing. The order stays as it was (unpaid,
``PENDING_PAYMENT``, so the customer's real payment still counts when it comes) and the caller
records the mismatch and tells staff through ``order_payment_mismatch_report``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from rq import Retry

from blogorder.compiled_reads import CompiledRead
from blogorder.logs import carried_log_context
from purchases.actions import FAIL_PAYMENT, PAY
from purchases.catalog.selectors import article_slots_used
from purchases.gateways import PaymentGatewayUnavailable, payment_gateway
from purchases.models import EmailKind, Order, OrderStatus, StripeEvent
from purchases.selectors import order_for_checkout_session
from purchases.services.emails import order_email_queue, staff_notify
from purchases.services.orders import order_lock, order_transition, orders_for_update
from purchases.services.refunds import order_mark_refunded_from_stripe
from purchases.services.runs import order_work_start
from queueing.connections import rq_queue
from queueing.enqueue import enqueue_in_one_trip

logger = logging.getLogger(__name__)


class PaymentMismatch(Exception):
    """The payment is not for the order's amount in the order's currency; nothing was changed."""


def payment_mismatch(*, order: Order, amount_minor: int, currency: str) -> str | None:
    """Why a payment of ``amount_minor`` ``currency`` does not pay ``order``, or None when it does."""
    if currency.lower() == order.currency.lower() and amount_minor == order.amount_minor:
        return None
    return (
        f"paid {amount_minor} {currency.upper() or '(no currency)'}, "
        f"the order costs {order.amount_minor} {order.currency.upper()} (minor units)"
    )


def order_payment_mismatch_report(*, order_id: UUID | str, reference: str, problem: str) -> None:
    """Tell staff (after commit) that a payment for the order did not match it and was not applied.

    The order is left as it was; staff check the payment in the Stripe dashboard and refund it.
    """
    logger.warning(
        "payment does not match the order",
        extra={"order_id": str(order_id), "reference": reference, "problem": problem},
    )
    transaction.on_commit(
        lambda: staff_notify(
            subject=f"Payment does not match order {order_id}",
            message=(
                f"{reference} reports order {order_id} paid, but {problem}. The order was not marked "
                "paid and no work started. Check the payment in the Stripe dashboard and refund it; "
                "the order still accepts the right payment."
            ),
        )
    )


def _refunds_waiting(payment_intent_id: str) -> QuerySet[StripeEvent]:
    """``charge.refunded`` events for the payment intent that reached us before the payment did.

    Such an event could not be matched to the order yet (no payment intent stored, no order id in
    its metadata), so it waits, found by its payment intent.
    """
    # Compared as text, so the payment intent is a plain parameter of the statement, as a
    # ``CompiledRead`` needs it (a JSON comparison would pass it JSON-encoded). Cast, so the lookup
    # is a plain text ``=``: on ``KT`` itself SQLite's backend compares with ``JSON_EXTRACT(%s, '$')``
    # and fails on any intent as "malformed JSON".
    intent = Cast(KT("payload__data__object__payment_intent"), output_field=TextField())
    return StripeEvent.objects.alias(refund_intent=intent).filter(
        type="charge.refunded", order__isnull=True, refund_intent=payment_intent_id
    )


# Set on the order by ``orders_for_payment``: whether ``_refunds_waiting`` has any (same statement).
REFUND_WAITING = "refund_waiting"


def orders_for_payment(*, payment_intent_id: str) -> QuerySet[Order]:
    """Orders read as ``order_mark_paid`` needs them: under their row lock (``orders_for_update``),
    with ``REFUND_WAITING`` read in the same statement, so a payment is mostly confirmed in one read
    of the order instead of a read, a lock and a search of the refunds. (Without a payment intent
    the flag is not looked at: ``_refund_seen_before_payment``.)"""
    return orders_for_update().annotate(**{REFUND_WAITING: Exists(_refunds_waiting(payment_intent_id))})


# ``orders_for_payment`` by each field a payment finds its order by, each compiled once per
# connection (the webhook's largest statement: the order, its article and the refund flag).
_PAYMENT_LOCKS: dict[str, CompiledRead[Order]] = {
    field: CompiledRead(
        lambda payment_intent_id, **lookup: orders_for_payment(payment_intent_id=payment_intent_id).filter(
            **lookup
        ),
        params={field: kind, "payment_intent_id": str},
    )
    for field, kind in (("pk", UUID), ("stripe_checkout_session_id", str))
}


def order_lock_for_payment(*, payment_intent_id: str, **lookup: Any) -> Order | None:
    """The order found by ``pk=`` or ``stripe_checkout_session_id=``, read by ``orders_for_payment``
    in one compiled statement; None when there is none."""
    ((field, value),) = lookup.items()
    return _PAYMENT_LOCKS[field].get_or_none(**{field: value, "payment_intent_id": payment_intent_id})


def order_lock_for_checkout_session(*, session: dict[str, Any], payment_intent_id: str) -> Order | None:
    """The order a Checkout Session pays for (``order_for_checkout_session``'s rules), read by
    ``orders_for_payment`` for ``order_mark_paid``; None when the session pays no order of ours."""
    return order_for_checkout_session(
        session=session,
        read=lambda **lookup: order_lock_for_payment(payment_intent_id=payment_intent_id, **lookup),
    )


def _refund_seen_before_payment(order: Order, payment_intent_id: str) -> StripeEvent | None:
    """The waiting ``charge.refunded`` event with the largest refund (``_refunds_waiting``), if any."""
    if not payment_intent_id or not getattr(order, REFUND_WAITING, True):
        return None
    events = _refunds_waiting(payment_intent_id)
    return max(
        events, key=lambda e: int(e.payload["data"]["object"].get("amount_refunded") or 0), default=None
    )


# What ``order_mark_paid`` did: moved the order to PROCESSING; applied a full refund Stripe had
# reported before the payment (the order is REFUNDED, no job); or nothing, the payment was handled.
MarkPaidOutcome = Literal["paid", "refunded_before_payment", "already_paid"]


@PAY.effect
def order_mark_paid(
    *,
    order_id: UUID | str,
    payment_intent_id: str,
    amount_minor: int,
    currency: str,
    source: str = "stripe",
    locked: Order | None = None,
) -> MarkPaidOutcome:
    """PENDING_PAYMENT -> PROCESSING and enqueue the first job run ("paid"); "already_paid" if it
    was already handled (``MarkPaidOutcome``).

    An order that ``needs_approval`` goes to AWAITING_APPROVAL instead: no run is requested (no
    model call) until staff accept its target (``order_target_accept``); the customer and the
    editors are told it waits (``order_approval_await``).

    ``amount_minor`` and ``currency`` are what the payment carried (the session's ``amount_total``
    and ``currency``); unless they are the order's, ``PaymentMismatch`` is raised and nothing moves.

    Money taken is never refused: if the article sold out meanwhile the order still goes ahead
    and the editors are told, and an order that FAILED before any payment (its checkout expired,
    or an earlier payment attempt failed) moves FAILED -> PROCESSING. A refund Stripe reported
    before this payment (waiting as an unmatched ``charge.refunded`` event) is applied now: in
    full, the order goes straight to REFUNDED and no job is ever enqueued.

    ``locked``: the order as ``orders_for_payment`` read it in the caller's transaction (the
    webhook's), else it is locked here. Inside a caller's transaction this joins it without a
    savepoint: nothing is written before the last check, so a mismatch leaves the transaction
    usable, and an error while writing fails the caller's transaction as a whole (the webhook's
    event row with it, so Stripe's retry is processed again).
    """
    with transaction.atomic(savepoint=False):
        order = locked or order_lock_for_payment(payment_intent_id=payment_intent_id, pk=order_id)
        if order is None:
            raise Order.DoesNotExist(f"no order {order_id}")
        problem = payment_mismatch(order=order, amount_minor=amount_minor, currency=currency)
        if problem is None:
            return _order_mark_paid(order, payment_intent_id=payment_intent_id, source=source)
    raise PaymentMismatch(problem)


def _order_mark_paid(order: Order, *, payment_intent_id: str, source: str) -> MarkPaidOutcome:
    if not PAY.allows(order):
        if order.is_refunded and not order.is_paid:
            # The refund overtook the completion: keep the payment facts on the record, nothing moves.
            order.paid_at = timezone.now()
            order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
            order.save(update_fields=["paid_at", "stripe_payment_intent_id", "updated_at"])
        logger.info("payment already handled", extra={"order_id": str(order.id), "status": order.status})
        return "already_paid"
    unpaid_failure = order.has_failed
    early_refund = _refund_seen_before_payment(order, payment_intent_id)
    if early_refund is not None:
        charge = early_refund.payload["data"]["object"]
        order.paid_at = timezone.now()
        order.stripe_payment_intent_id = payment_intent_id
        order.save(update_fields=["paid_at", "stripe_payment_intent_id", "updated_at"])
        _refunds_waiting(payment_intent_id).update(order=order)
        outcome = order_mark_refunded_from_stripe(
            order_id=order.id,
            amount_refunded_minor=int(charge.get("amount_refunded") or 0),
            amount_minor_total=int(charge.get("amount") or order.amount_minor),
            charge_id=str(charge.get("id") or ""),
        )
        if outcome == "refunded":
            return "refunded_before_payment"
        order.refresh_from_db()
    article = order.article
    if order.kind == Order.Kind.BACKLINK and article is not None:
        used = article_slots_used(article_id=article.pk, exclude_order_id=order.id)
        if used >= article.max_backlinks:
            transaction.on_commit(
                lambda: staff_notify(
                    subject="Paid backlink over the article's limit",
                    message=(
                        f"Order {order.id} was paid for “{article.title}”, which already had "
                        f"{used} of {article.max_backlinks} backlink slots taken. The order goes ahead; "
                        "raise the limit or refund it."
                    ),
                )
            )
    order.paid_at = order.paid_at or timezone.now()
    order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
    order.failure_reason = ""
    reason = (
        "payment confirmed" if not unpaid_failure else "payment confirmed after the order had failed unpaid"
    )
    payment_fields = ("paid_at", "stripe_payment_intent_id", "failure_reason")
    if order.needs_approval:
        order_approval_await(order=order, source=source, reason=reason, extra_fields=payment_fields)
    else:
        order_work_start(order=order, source=source, reason=reason, extra_fields=payment_fields)
    order_id_text = str(order.id)
    transaction.on_commit(lambda: order_receipt_enqueue(order_id=order_id_text), robust=True)
    return "paid"


# The job that fetches a paid order's receipt, by dotted path (the jobs module imports the services).
RECEIPT_JOB = "purchases.jobs.order_receipt_job"
RECEIPT_QUEUE = "maintenance"


def order_receipt_enqueue(*, order_id: str) -> None:
    """Put the receipt fetch of a just-paid order on the ``maintenance`` queue (call it after commit).

    Best effort: the receipt is a convenience, so a Redis that cannot be reached loses only the
    link (the order page then says Stripe emails the receipt); the order itself is unaffected.
    One job id per order, so a second payment confirmation does not queue a second fetch.
    """
    enqueue_in_one_trip(
        rq_queue(RECEIPT_QUEUE),
        RECEIPT_JOB,
        kwargs={"order_id": order_id},
        job_id=f"receipt-{order_id}",
        retry=Retry(max=len(settings.RQ_RETRY_INTERVALS), interval=settings.RQ_RETRY_INTERVALS),
        meta=carried_log_context(),  # the request id its log lines carry
    )


def order_receipt_fetch(*, order_id: UUID | str) -> str:
    """Ask the payment gateway for the paid order's receipt URL and store it. Returns an outcome word.

    Idempotent: an order that has its receipt, or no payment reference, is left alone ("unchanged");
    the URL is stored only when it is https and the order has none. The gateway call runs outside
    any transaction and lock. Raises ``PaymentGatewayUnavailable`` when Stripe cannot be asked, so the
    job is retried.
    """
    order = Order.objects.only("id", "receipt_url", "stripe_payment_intent_id", "paid_at").get(pk=order_id)
    if order.receipt_url or not order.stripe_payment_intent_id or order.paid_at is None:
        return "unchanged"
    url = payment_gateway().payment_receipt_url(payment_intent_id=order.stripe_payment_intent_id)
    max_length = Order._meta.get_field("receipt_url").max_length or 0
    if not url or not url.startswith("https://") or len(url) > max_length:
        logger.info("no receipt to record", extra={"order_id": str(order.id), "has_url": bool(url)})
        return "no_receipt"
    stored = Order.objects.filter(pk=order.id, receipt_url="").update(
        receipt_url=url, updated_at=timezone.now()
    )
    return "recorded" if stored else "unchanged"


def order_payment_confirm_from_session(*, order_id: UUID | str) -> str:
    """The customer is back on the success URL: ask Stripe for the order's Checkout Session and, if
    it is paid, fulfil the order now rather than wait for the webhook. Returns an outcome word.

    Stripe's fulfilment guide: fulfil from both the return and the webhook, idempotently. Both call
    ``order_mark_paid``, which moves the order once under its row lock and checks the amount and
    currency. Nothing happens for an order no longer waiting for its payment ("not_pending"), an
    unpaid session ("unpaid"), or when Stripe cannot be reached ("unavailable": the webhook and the
    reconciliation still come). A mismatch is only logged here ("amount_mismatch"): the page may be
    reloaded many times, and the webhook and the reconciliation tell staff once.
    """
    order = Order.objects.get(pk=order_id)
    if not PAY.is_offered(order) or not order.stripe_checkout_session_id:
        return "not_pending"
    try:
        session = payment_gateway().checkout_session_retrieve(session_id=order.stripe_checkout_session_id)
    except PaymentGatewayUnavailable as exc:
        logger.warning(
            "session not confirmed on return", extra={"order_id": str(order.id), "error": str(exc)}
        )
        return "unavailable"
    if session is None or session.get("payment_status") != "paid":
        return "unpaid"
    amount = session.get("amount_total")
    try:
        outcome = order_mark_paid(
            order_id=order.id,
            payment_intent_id=str(session.get("payment_intent") or "")[:255],
            amount_minor=amount if isinstance(amount, int) and not isinstance(amount, bool) else -1,
            currency=str(session.get("currency") or ""),
            source="success_url",
        )
    except PaymentMismatch as exc:
        logger.warning(
            "payment does not match the order", extra={"order_id": str(order.id), "problem": str(exc)}
        )
        return "amount_mismatch"
    return "already_paid" if outcome == "already_paid" else "paid"


def order_approval_await(
    *, order: Order, source: str, reason: str, extra_fields: tuple[str, ...] = ()
) -> None:
    """Move the just-paid ``order`` (locked by the caller) to AWAITING_APPROVAL: nothing is written yet.

    The customer gets the "waiting for approval" email once; the editors are told where to accept
    or decline the target (after commit). The order keeps its slot meanwhile (``SLOT_HOLDING_PAID``).
    """
    order_transition(
        order=order,
        to_status=OrderStatus.AWAITING_APPROVAL,
        source=source,
        reason=f"{reason}; the target waits for approval",
        extra_fields=extra_fields,
    )
    order_email_queue(order=order, kind=EmailKind.AWAITING_APPROVAL, key="paid")
    admin_url = settings.SITE_URL + reverse("admin:purchases_order_change", args=[order.pk])
    message = (
        f"{order.get_kind_display()} for {order.customer_email}, paid {order.amount} "
        f"{order.currency.upper()}.\nTarget: {order.target_url}\nAnchor: {order.anchor_text}\n"
        f"Accept or decline it: {admin_url}"
    )
    transaction.on_commit(
        lambda: staff_notify(subject=f"Order waiting for approval: {order.display_title}", message=message)
    )


@transaction.atomic
def order_payment_await(*, order_id: UUID | str, hold_until: datetime) -> bool:
    """Checkout completed but the money is still clearing (a delayed payment method such as a bank debit).

    The order stays PENDING_PAYMENT until ``async_payment_succeeded`` or ``_failed``. Its slot is
    held until ``hold_until`` only with ``ASYNC_PAYMENT_HOLDS_SLOT`` on: a completion without
    money costs nothing, so by default it holds no longer than the checkout's own expiry. When
    the money then arrives the order goes ahead all the same (``order_mark_paid``: money taken is
    never refused; if the article sold out meanwhile the editors are told), and a failed payment
    fails it as before. False when the order is no longer waiting for a payment.
    """
    order = order_lock(order_id=order_id)
    if not PAY.is_offered(order):
        return False
    if not settings.ASYNC_PAYMENT_HOLDS_SLOT:
        logger.info("payment clearing, slot not held past the checkout", extra={"order_id": str(order.id)})
        return True
    if order.checkout_expires_at is None or order.checkout_expires_at < hold_until:
        order.checkout_expires_at = hold_until
        order.save(update_fields=["checkout_expires_at", "updated_at"])
    return True


@FAIL_PAYMENT.effect
@transaction.atomic
def order_payment_fail(
    *, order_id: UUID | str, reason: str, notify_customer: bool, source: str = "stripe"
) -> bool:
    """PENDING_PAYMENT -> FAILED (the payment failed, or the checkout expired): the slot is free again.

    No money was taken. ``notify_customer`` sends the order-failed email once (an expired checkout
    needs none). False when the order is not waiting for a payment, e.g. already paid.
    """
    order = order_lock(order_id=order_id)
    if not FAIL_PAYMENT.allows(order):
        logger.info("payment failure ignored", extra={"order_id": str(order.id), "status": order.status})
        return False
    order.failure_reason = reason
    order_transition(
        order=order,
        to_status=OrderStatus.FAILED,
        source=source,
        reason=reason,
        extra_fields=("failure_reason",),
    )
    if notify_customer:
        order_email_queue(order=order, kind=EmailKind.ORDER_FAILED, key="payment-failed", note=reason)
    return True
