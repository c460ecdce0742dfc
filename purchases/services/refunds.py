"""Refunds: ours (staff, or automatic after a final failure) through Stripe, and Stripe's own.

A full refund moves any order to REFUNDED, which is final: its jobs are cancelled and nothing
can move it on, so a refunded order is never published. A partial refund only records the
cumulative ``refunded_amount`` and tells staff. Amounts only grow (the larger of what we know and
what Stripe reports), so a refund reported twice, by our call and by its webhook, counts once.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction

from purchases.actions import REFUND
from purchases.errors import InvalidField, NotRefundable, PaymentProviderError
from purchases.gateways import PaymentGatewayUnavailable, payment_gateway
from purchases.models import EmailKind, Order, OrderStatus, from_minor_units, to_minor_units
from purchases.services.emails import order_email_queue, staff_notify
from purchases.services.orders import order_lock, order_transition
from purchases.services.runs import order_jobs_cancel

logger = logging.getLogger(__name__)


def _remaining_minor(order: Order) -> int:
    return order.amount_minor - to_minor_units(order.refunded_amount, order.currency)


def _check_refundable(order: Order, amount: Decimal | None) -> int | None:
    """The partial amount in minor units, or None for a full refund; raises when not refundable."""
    REFUND.check_order(order)
    if amount is None:
        return None
    amount_minor = to_minor_units(amount, order.currency)
    if amount_minor <= 0:
        raise InvalidField("Invalid input: amount.", fields={"amount": ["Must be more than zero."]})
    if amount_minor > _remaining_minor(order):
        left = from_minor_units(_remaining_minor(order), order.currency)
        raise NotRefundable(f"Only {left} {order.currency.upper()} is left to refund.")
    return None if amount_minor == _remaining_minor(order) else amount_minor


def _refund_full(
    *,
    order: Order,
    source: str,
    actor: Any,
    reason: str,
    email_key: str,
    email_note: str,
    email_kind: str = EmailKind.REFUNDED,
) -> None:
    """Move the locked order to REFUNDED, stop its jobs and owe the customer the refund email."""
    was_published = order.is_published
    order.refunded_amount = max(order.refunded_amount, order.amount)
    order_transition(
        order=order,
        to_status=OrderStatus.REFUNDED,
        source=source,
        actor=actor,
        reason=reason,
        extra_fields=(
            "refunded_amount",
            "stripe_refund_id",
            "refund_status",
            "paid_at",
            "stripe_payment_intent_id",
        ),
    )
    order_jobs_cancel(order=order)
    order_email_queue(order=order, kind=email_kind, key=email_key, note=email_note)
    if was_published:
        transaction.on_commit(
            lambda: staff_notify(
                subject=f"Published order {order.id} was refunded",
                message=(
                    f"Order {order.id} for “{order.display_title}” was refunded in full ({reason}). "
                    "Its link is still in the published article: take it down from the order's review page "
                    "(Take the link down) if it should go."
                ),
            )
        )


@REFUND.effect
def order_refund(
    *,
    order_id: UUID | str,
    actor: Any = None,
    reason: str,
    amount: Decimal | None = None,
    source: str = "staff",
) -> Order:
    """Refund a paid order through Stripe, in full (``amount`` None) or in part.

    Full: the order moves to REFUNDED (recorded with actor, source and reason), its open jobs are
    cancelled and the customer gets the refund email. Partial: ``refunded_amount`` grows, the
    customer gets the refund email and staff are told; the status stays.

    The Stripe call runs before the row lock is taken (no lock across the network) with the
    idempotency key ``refund-<order id>-<amount in minor units or "full">`` (plus
    ``-after-<refunded so far>`` once something was refunded), so a retry, a double click or two
    staff at once make one refund. Raises NotRefundable (409) for an unpaid or fully refunded
    order and PaymentProviderError (503) when Stripe fails, in which case nothing changed.
    """
    if source == "staff":
        REFUND.check_permission(actor)
    order = Order.objects.get(pk=order_id)
    amount_minor = _check_refundable(order, amount)
    return order_refund_at_stripe(
        order=order, amount_minor=amount_minor, actor=actor, reason=reason, source=source
    )


def order_refund_at_stripe(
    *,
    order: Order,
    amount_minor: int | None,
    actor: Any,
    reason: str,
    source: str,
    email_kind: str = EmailKind.REFUNDED,
) -> Order:
    """Refund ``order`` (checked refundable by the caller) through Stripe, then record it under the row lock.

    ``amount_minor`` None is a full refund. The customer's email is ``email_kind`` with ``reason``
    (the refund email, or a declined target's). See ``order_refund`` for the idempotency key, the
    errors and why the Stripe call comes before the lock.
    """
    refunded_before_minor = to_minor_units(order.refunded_amount, order.currency)
    key = f"refund-{order.id}-{amount_minor if amount_minor is not None else 'full'}"
    if refunded_before_minor:
        key += f"-after-{refunded_before_minor}"
    # Only what is stable across retries goes to Stripe: the same key with other parameters is refused.
    metadata = {"order_id": str(order.id)}
    try:
        refund = payment_gateway().refund_create(
            payment_intent_id=order.stripe_payment_intent_id,
            amount_minor=amount_minor,
            amount_left_minor=_remaining_minor(order),
            idempotency_key=key,
            metadata=metadata,
        )
    except PaymentGatewayUnavailable as exc:
        raise PaymentProviderError(f"Stripe did not make the refund: {exc}") from exc
    if refund.status in ("failed", "canceled"):
        raise PaymentProviderError(f"Stripe answered the refund {refund.id} with status {refund.status}.")

    with transaction.atomic():
        order = order_lock(order_id=order.id)
        if order.is_refunded:
            logger.info("refund already recorded", extra={"order_id": str(order.id), "refund_id": refund.id})
            return order
        refunded_now = from_minor_units(refunded_before_minor + refund.amount, order.currency)
        order.refunded_amount = max(order.refunded_amount, refunded_now)
        order.stripe_refund_id = refund.id
        order.refund_status = refund.status
        if amount_minor is None or order.refunded_amount >= order.amount:
            _refund_full(
                order=order,
                source=source,
                actor=actor,
                reason=reason,
                email_key=f"refund-{refund.id}",
                email_note=reason,
                email_kind=email_kind,
            )
        else:
            order.save(update_fields=["refunded_amount", "stripe_refund_id", "refund_status", "updated_at"])
            order_email_queue(order=order, kind=email_kind, key=f"refund-{refund.id}", note=reason)
            by = getattr(actor, "username", "") or source
            transaction.on_commit(
                lambda: staff_notify(
                    subject=f"Partial refund on order {order.id}",
                    message=(
                        f"{by} refunded {from_minor_units(refund.amount, order.currency)} "
                        f"{order.currency.upper()} of order {order.id} ({refund.id}); "
                        f"{order.refunded_amount} of {order.amount} refunded so far. Reason: {reason}"
                    ),
                )
            )
    logger.info(
        "order refunded",
        extra={
            "order_id": str(order.id),
            "refund_id": refund.id,
            "amount_minor": refund.amount,
            "full": order.is_refunded,
            "source": source,
        },
    )
    return order


def order_mark_refunded_from_stripe(
    *, order_id: UUID | str, amount_refunded_minor: int, amount_minor_total: int, charge_id: str
) -> str:
    """Apply a ``charge.refunded`` Stripe reported (ours echoed back, or one made in the dashboard).

    ``amount_refunded_minor`` is Stripe's cumulative figure, so applying it again changes nothing.
    Full (it reaches the charge's amount): REFUNDED from any status, even PENDING_PAYMENT when the
    refund overtook the completion event; jobs cancelled, refund email queued. Partial: the amount
    is recorded and staff are told. No Stripe call. Returns an outcome word.

    No more than the order's amount is ever recorded as refunded, whatever the charge says.
    """
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        reported = min(from_minor_units(amount_refunded_minor, order.currency), order.amount)
        if order.is_refunded:
            return "already_refunded"
        full = amount_refunded_minor >= amount_minor_total > 0
        if full:
            order.refunded_amount = max(order.refunded_amount, reported)
            _refund_full(
                order=order,
                source="stripe",
                actor=None,
                reason=f"refunded in full at Stripe (charge {charge_id})",
                email_key=f"charge-{charge_id}",
                email_note="",
            )
            return "refunded"
        if reported <= order.refunded_amount:
            return "refund_already_recorded"
        order.refunded_amount = reported
        order.save(update_fields=["refunded_amount", "updated_at"])
        transaction.on_commit(
            lambda: staff_notify(
                subject=f"Partial refund on order {order.id}",
                message=(
                    f"Stripe reports {reported} {order.currency.upper()} of order {order.id} refunded "
                    f"(charge {charge_id}). The order stays {order.status}."
                ),
            )
        )
    return "partially_refunded"


# Stripe's refund statuses, by how far along they are: a later event never takes one back.
REFUND_STATUS_RANK = {"pending": 0, "requires_action": 0, "succeeded": 1, "failed": 2, "canceled": 2}
# What staff must act on: the customer has not got the money back (or must do something first).
REFUND_STATUSES_TO_TELL = frozenset({"failed", "canceled", "requires_action"})


@transaction.atomic
def order_refund_status_record(
    *, order_id: UUID | str, refund_id: str, status: str, amount_minor: int, failure_reason: str
) -> str:
    """Record a refund's status Stripe reported (``refund.failed``, ``charge.refund.updated``).

    The order's ``refund_status`` follows its latest refund: a refund it has not seen replaces it,
    and for the same refund a status only moves forward (pending, then succeeded, then failed or
    canceled), so events in any order leave the last word. A failed, canceled or action-needing
    refund is told to staff once: the money did not reach the customer. Nothing else changes: a
    REFUNDED order stays REFUNDED (final) and ``refunded_amount`` never shrinks; staff repay the
    customer another way. Returns ``refund_status_recorded`` or ``refund_status_already_recorded``.
    """
    order = order_lock(order_id=order_id)
    if order.stripe_refund_id == refund_id and REFUND_STATUS_RANK.get(status, 0) <= REFUND_STATUS_RANK.get(
        order.refund_status, -1
    ):
        return "refund_status_already_recorded"
    order.stripe_refund_id = refund_id
    order.refund_status = status
    order.save(update_fields=["stripe_refund_id", "refund_status", "updated_at"])
    logger.info(
        "refund status recorded", extra={"order_id": str(order.id), "refund_id": refund_id, "status": status}
    )
    if status in REFUND_STATUSES_TO_TELL:
        amount = f"{from_minor_units(amount_minor, order.currency)} {order.currency.upper()}"
        transaction.on_commit(
            lambda: staff_notify(
                subject=f"Refund {status} on order {order.id}",
                message=(
                    f"Stripe reports refund {refund_id} of {amount} on order {order.id} as {status}"
                    f"{f' ({failure_reason})' if failure_reason else ''}. The customer has not got this money "
                    f"back; the order stays {order.status}. Check it in the Stripe dashboard and repay them."
                ),
            )
        )
    return "refund_status_recorded"
