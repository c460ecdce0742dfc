"""Stripe webhook events: verified, recorded once by event id, routed by type.

Events may arrive in any order and more than once; each handler moves an order only from the
status its event is about (see ``purchases/services/payments.py`` and ``refunds.py``).

| Event | Effect |
| --- | --- |
| ``checkout.session.completed`` paid, ``…async_payment_succeeded`` | PENDING_PAYMENT (or FAILED unpaid) -> PROCESSING, job enqueued |
| the same, ``amount_total``/``currency`` not the order's | nothing moves, outcome ``amount_mismatch``, staff told |
| ``checkout.session.completed`` unpaid | stays PENDING_PAYMENT; slot held ``ASYNC_PAYMENT_HOLD_DAYS`` only with ``ASYNC_PAYMENT_HOLDS_SLOT`` |
| ``checkout.session.async_payment_failed`` | PENDING_PAYMENT -> FAILED "payment failed", customer emailed |
| ``checkout.session.expired`` | PENDING_PAYMENT -> FAILED "checkout expired", slot released |
| ``charge.refunded`` | full: REFUNDED from any status, jobs cancelled; partial: amount recorded, staff told |
| ``charge.dispute.created``/``updated`` | the order flagged (``dispute_*``), staff told, link take-down offered; no status move |
| ``charge.dispute.closed`` | the outcome recorded (won, lost), staff told; a late ``created`` never reopens it |
| ``refund.failed``, ``charge.refund.updated`` | ``refund_status`` recorded (only forward); failed/canceled/requires_action told to staff |

A signed event is still refused (400 ``invalid_event``, nothing written) when it carries what our
tables cannot hold: an amount beyond the order amount columns, a number JSON cannot store
(``NaN``, ``Infinity``), an overlong id, NUL characters.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from purchases import stripe_api
from purchases.models import Order, StripeEvent, to_minor_units
from purchases.selectors import order_for_charge, order_for_checkout_session
from purchases.services.disputes import order_dispute_record
from purchases.services.payments import (
    PaymentMismatch,
    order_lock_for_checkout_session,
    order_mark_paid,
    order_payment_await,
    order_payment_fail,
    order_payment_mismatch_report,
)
from purchases.services.refunds import order_mark_refunded_from_stripe, order_refund_status_record
from purchases.sql import insert_unless_conflict
from purchases.status_messages import AWAITING_ASYNC_PAYMENT, CHECKOUT_EXPIRED, PAYMENT_FAILED

logger = logging.getLogger(__name__)

# Stripe documents object ids of up to 255 characters; our id columns hold as much.
STRIPE_ID_MAX_LENGTH = 255
# Stripe's events nest a handful of levels. The bound keeps storing one far from the recursion limit.
EVENT_MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")  # after json.loads, only an unpaired one is left


def _stripe_id(value: object, *, name: str) -> str:
    """A Stripe id from an event as text ('' when absent). Raises ValueError when too long to store."""
    text = "" if value is None else str(value)
    if len(text) > STRIPE_ID_MAX_LENGTH:
        raise ValueError(f"{name} is longer than {STRIPE_ID_MAX_LENGTH} characters")
    return text


def amount_limit_minor(currency: str) -> int:
    """The largest amount in minor units of ``currency`` that the order amount columns hold."""
    field = Order._meta.get_field("amount")
    assert isinstance(field, models.DecimalField)
    whole_digits = field.max_digits - field.decimal_places
    return to_minor_units(Decimal(10) ** whole_digits, currency) - 1


def _minor_amount(obj: dict[str, Any], key: str) -> int:
    """An amount in minor units, as Stripe sends it: a whole number, 0 when absent.

    Raises ValueError when it is not one, or is more than our amount columns hold (in the object's
    ``currency``): such an event is refused, never clamped, since no real payment of ours carries it.
    """
    value = obj.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} is not a whole number of minor units")
    if value > amount_limit_minor(_currency(obj)):
        raise ValueError(f"{key} is more than an order amount can be")
    return value


def _currency(obj: dict[str, Any]) -> str:
    """The object's ISO currency code, lower case ('' when absent). Else ValueError."""
    value = obj.get("currency") or ""
    if not isinstance(value, str) or len(value) > 3:
        raise ValueError("currency is not a three-letter code")
    return value.lower()


def _unstorable(event: dict[str, Any]) -> str | None:
    """Why the event cannot be stored as it is, or None.

    PostgreSQL refuses NUL characters and unpaired surrogates (so does UTF-8), and encoding a
    deeply nested payload can exhaust Python's stack. Walked without recursion.
    """
    stack: list[tuple[object, int]] = [(event, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > EVENT_MAX_DEPTH:
            return f"it nests deeper than {EVENT_MAX_DEPTH} levels"
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, float) and not math.isfinite(value):
            return "it carries a number JSON cannot store (NaN or Infinity)"
        elif isinstance(value, str):
            if "\x00" in value:
                return "it contains a NUL character"
            if _SURROGATE.search(value):
                return "it contains an unpaired surrogate"
    return None


def _session_order(event: dict[str, Any], record: StripeEvent) -> tuple[dict[str, Any], Order | None]:
    session = event["data"]["object"]
    order = order_for_checkout_session(session=session)
    record.order = order
    return session, order


def _on_checkout_paid(event: dict[str, Any], record: StripeEvent) -> str:
    session = event["data"]["object"]
    if session.get("payment_status") != "paid":
        _, order = _session_order(event, record)
        if order is None:
            return "unknown_order"
        hold_until = timezone.now() + timedelta(days=settings.ASYNC_PAYMENT_HOLD_DAYS)
        order_payment_await(order_id=order.id, hold_until=hold_until)
        return AWAITING_ASYNC_PAYMENT
    payment_intent_id = _stripe_id(session.get("payment_intent") or "", name="payment_intent")
    # Found and locked in one statement, as order_mark_paid needs it (order_for_checkout_session's rules).
    order = order_lock_for_checkout_session(session=session, payment_intent_id=payment_intent_id)
    record.order = order
    if order is None:
        return "unknown_order"
    try:
        outcome = order_mark_paid(
            order_id=order.id,
            payment_intent_id=payment_intent_id,
            amount_minor=_minor_amount(session, "amount_total"),
            currency=_currency(session),
            locked=order,
        )
    except PaymentMismatch as exc:
        order_payment_mismatch_report(
            order_id=order.id,
            reference=f"Stripe event {event['id']} (session {session.get('id')})",
            problem=str(exc),
        )
        return "amount_mismatch"
    return outcome


def _on_async_payment_failed(event: dict[str, Any], record: StripeEvent) -> str:
    _, order = _session_order(event, record)
    if order is None:
        return "unknown_order"
    failed = order_payment_fail(order_id=order.id, reason=PAYMENT_FAILED, notify_customer=True)
    return "payment_failed" if failed else "ignored_not_pending"


def _on_checkout_expired(event: dict[str, Any], record: StripeEvent) -> str:
    _, order = _session_order(event, record)
    if order is None:
        return "unknown_order"
    failed = order_payment_fail(order_id=order.id, reason=CHECKOUT_EXPIRED, notify_customer=False)
    return "expired" if failed else "ignored_not_pending"


def _on_charge_refunded(event: dict[str, Any], record: StripeEvent) -> str:
    """Full or partial refund, ours or made in the Stripe dashboard.

    When no order matches yet (a refund overtaking the completion, without our order id in the
    charge's metadata), the event stays recorded and ``order_mark_paid`` applies it later.
    """
    charge = event["data"]["object"]
    amount_refunded = _minor_amount(charge, "amount_refunded")
    amount = _minor_amount(charge, "amount")
    if amount_refunded > amount:
        raise ValueError("amount_refunded is more than amount")
    order = order_for_charge(charge=charge)
    if order is None:
        logger.warning(
            "refund for no known order yet",
            extra={"charge": charge.get("id"), "payment_intent": charge.get("payment_intent")},
        )
        return "refund_unmatched"
    record.order = order
    return order_mark_refunded_from_stripe(
        order_id=order.id,
        amount_refunded_minor=amount_refunded,
        amount_minor_total=amount,
        charge_id=str(charge.get("id") or ""),
    )


def _status_word(obj: dict[str, Any]) -> str:
    """A Stripe object's ``status``, as short text. Else ValueError."""
    value = obj.get("status") or ""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("status is not a Stripe status")
    return value


def _on_dispute(event: dict[str, Any], record: StripeEvent) -> str:
    """``charge.dispute.created``/``updated``/``closed``: the dispute found by its payment intent
    (else the charge's ``metadata.order_id``), its status recorded on the order."""
    dispute = event["data"]["object"]
    dispute_id = _stripe_id(dispute.get("id"), name="dispute id")
    if not dispute_id:
        raise ValueError("the dispute has no id")
    amount = _minor_amount(dispute, "amount")
    order = order_for_charge(charge=dispute)
    if order is None:
        logger.warning("dispute for no known order", extra={"dispute": dispute_id})
        return "dispute_unmatched"
    record.order = order
    return order_dispute_record(
        order_id=order.id,
        dispute_id=dispute_id,
        status=_status_word(dispute),
        reason=str(dispute.get("reason") or "")[:100],
        amount=f"{amount} {_currency(dispute).upper()} (minor units)",
    )


def _on_refund_status(event: dict[str, Any], record: StripeEvent) -> str:
    """``refund.failed`` / ``charge.refund.updated``: the refund's status recorded on its order."""
    refund = event["data"]["object"]
    refund_id = _stripe_id(refund.get("id"), name="refund id")
    if not refund_id:
        raise ValueError("the refund has no id")
    amount = _minor_amount(refund, "amount")
    status = _status_word(refund) or ("failed" if event["type"] == "refund.failed" else "")
    order = order_for_charge(charge=refund)
    if order is None:
        logger.warning("refund status for no known order", extra={"refund": refund_id})
        return "refund_unmatched"
    record.order = order
    return order_refund_status_record(
        order_id=order.id,
        refund_id=refund_id,
        status=status,
        amount_minor=amount,
        failure_reason=str(refund.get("failure_reason") or "")[:200],
    )


HANDLERS: dict[str, Callable[[dict[str, Any], StripeEvent], str]] = {
    "checkout.session.completed": _on_checkout_paid,
    "checkout.session.async_payment_succeeded": _on_checkout_paid,
    "checkout.session.async_payment_failed": _on_async_payment_failed,
    "checkout.session.expired": _on_checkout_expired,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute,
    "charge.dispute.updated": _on_dispute,
    "charge.dispute.closed": _on_dispute,
    "refund.failed": _on_refund_status,
    "charge.refund.updated": _on_refund_status,
}


_EVENT_COLUMNS = ("event_id", "type", "object_id", "outcome", "payload", "received_at")


def _event_record_once(
    *, event_id: str, event_type: str, object_id: str, event: dict[str, Any]
) -> StripeEvent | None:
    """Insert the event's row, or None when its id is recorded already: one statement
    (``insert_unless_conflict``), which waits for a concurrent delivery of the same event to commit
    (then it is a duplicate) or roll back (then this one inserts)."""
    record = StripeEvent(
        event_id=event_id, type=event_type, object_id=object_id, payload=event, received_at=timezone.now()
    )
    fields = [field for field in StripeEvent._meta.concrete_fields if field.name in _EVENT_COLUMNS]
    return record if insert_unless_conflict(record, fields=fields, conflict=("event_id",)) else None


def stripe_webhook_handle(*, payload: bytes, signature_header: str | None) -> str:
    """Verify and apply one delivery. Returns an outcome word for logs.

    Raises InvalidSignature (nothing read) or MalformedEvent (signed, but unusable; nothing written).

    The event row is inserted first inside the transaction: a concurrent delivery of the same
    event waits on the unique index and then sees a duplicate, so nothing happens twice.
    """
    event = stripe_api.webhook_event_verify(payload=payload, signature_header=signature_header)
    event_type = event.get("type")
    if not isinstance(event_type, str):
        raise stripe_api.MalformedEvent("the event has no type")
    handler = HANDLERS.get(event_type)
    if handler is None:
        logger.info("stripe event ignored", extra={"event_id": event.get("id"), "type": event_type})
        return "ignored"
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event.get("id"), str) or not isinstance(obj, dict):
        raise stripe_api.MalformedEvent("the event has no id or no data.object")
    problem = _unstorable(event)
    if problem:
        raise stripe_api.MalformedEvent(f"the event cannot be stored: {problem}")
    try:
        event_id = _stripe_id(event["id"], name="id")
        object_id = _stripe_id(obj.get("id", ""), name="data.object.id")
    except ValueError as exc:
        raise stripe_api.MalformedEvent(str(exc)) from exc
    with transaction.atomic():
        record = _event_record_once(
            event_id=event_id, event_type=event_type, object_id=object_id, event=event
        )
        if record is None:
            logger.info("stripe event duplicate", extra={"event_id": event["id"]})
            return "duplicate"
        try:
            outcome = handler(event, record)
        except (KeyError, TypeError, ValueError) as exc:
            # Rolls back the event row too, so Stripe's retry of a fixed event is processed.
            raise stripe_api.MalformedEvent(f"{type(exc).__name__}: {exc}") from exc
        record.outcome = outcome
        record.save(update_fields=["outcome", "order"])
    logger.info(
        "stripe event handled", extra={"event_id": event["id"], "type": event["type"], "outcome": outcome}
    )
    return outcome
