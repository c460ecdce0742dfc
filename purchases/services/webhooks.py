"""Stripe webhook events: verified, recorded once by event id, routed by type."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from purchases import stripe_api
from purchases.models import Order, StripeEvent
from purchases.services.payments import order_mark_paid

logger = logging.getLogger(__name__)


def _order_for_session(session: dict[str, Any]) -> Order | None:
    raw = session.get("client_reference_id") or (session.get("metadata") or {}).get("order_id")
    try:
        order_id = uuid.UUID(str(raw))
    except ValueError:
        return None
    order = Order.objects.filter(pk=order_id).first()
    if order and order.stripe_checkout_session_id and order.stripe_checkout_session_id != session.get("id"):
        logger.warning(
            "session does not match order", extra={"order_id": str(order_id), "session": session.get("id")}
        )
        return None
    return order


def _on_checkout_paid(event: dict[str, Any], record: StripeEvent) -> str:
    session = event["data"]["object"]
    order = _order_for_session(session)
    if order is None:
        return "unknown_order"
    record.order = order
    if session.get("payment_status") != "paid":
        return "awaiting_async_payment"
    changed = order_mark_paid(order_id=order.id, payment_intent_id=str(session.get("payment_intent") or ""))
    return "paid" if changed else "already_paid"


HANDLERS: dict[str, Callable[[dict[str, Any], StripeEvent], str]] = {
    "checkout.session.completed": _on_checkout_paid,
    "checkout.session.async_payment_succeeded": _on_checkout_paid,
}


def stripe_webhook_handle(*, payload: bytes, signature_header: str | None) -> str:
    """Verify and apply one delivery. Returns an outcome word for logs; raises InvalidSignature.

    The event row is inserted first inside the transaction: a concurrent delivery of the same
    event waits on the unique index and then sees a duplicate, so nothing happens twice.
    """
    event = stripe_api.webhook_event_verify(payload=payload, signature_header=signature_header)
    handler = HANDLERS.get(event.get("type", ""))
    if handler is None:
        logger.info("stripe event ignored", extra={"event_id": event.get("id"), "type": event.get("type")})
        return "ignored"
    obj = event.get("data", {}).get("object", {})
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(
                    event_id=event["id"], type=event["type"], object_id=str(obj.get("id", "")), payload=event
                )
        except IntegrityError:
            logger.info("stripe event duplicate", extra={"event_id": event["id"]})
            return "duplicate"
        outcome = handler(event, record)
        record.outcome = outcome
        record.save(update_fields=["outcome", "order"])
    logger.info(
        "stripe event handled", extra={"event_id": event["id"], "type": event["type"], "outcome": outcome}
    )
    return outcome
