"""Reads on orders."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.db.models import QuerySet

from articles.content import plain_text
from articles.models import ArticleVersion
from purchases.errors import OrderNotFound
from purchases.models import Order, OrderStatus
from purchases.tokens import check_order_token

logger = logging.getLogger(__name__)

CUSTOMER_ACTIONS: dict[str, list[str]] = {
    OrderStatus.PENDING_PAYMENT: ["pay"],
    OrderStatus.PROCESSING: [],
    OrderStatus.QUALITY_CHECK: ["regenerate", "submit_for_review"],
    OrderStatus.ADMIN_REVIEW: [],
    OrderStatus.PUBLISHED: ["view_article"],
    OrderStatus.FAILED: [],
    OrderStatus.REFUNDED: [],
}


def order_get_for_customer(*, order_id: object, token: str | None) -> Order:
    """The order if ``token`` is its access token. Unknown order and wrong token look the same: 404."""
    try:
        pk = uuid.UUID(str(order_id))
    except ValueError as exc:
        raise OrderNotFound("Order not found.") from exc
    order = Order.objects.select_related("article", "current_version").filter(pk=pk).first()
    if order is None or not check_order_token(order_id=order.id, token_salt=order.token_salt, token=token):
        raise OrderNotFound("Order not found.")
    return order


def order_preview(order: Order, *, limit: int = 500) -> str:
    version = order.current_version
    return plain_text(version.body_markdown, limit=limit) if version else ""


def order_customer_actions(order: Order) -> list[str]:
    return list(CUSTOMER_ACTIONS[order.status])


def order_versions(order: Order) -> QuerySet[ArticleVersion]:
    return ArticleVersion.objects.filter(order=order).order_by("-run", "-id")


def order_id_from_metadata(obj: dict[str, Any]) -> uuid.UUID | None:
    """Our order id on a Stripe object: ``client_reference_id`` (sessions) or ``metadata.order_id``."""
    raw = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("order_id")
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def order_for_checkout_session(*, session: dict[str, Any]) -> Order | None:
    """The order a Checkout Session pays for: by our id on the session, else by the session id.

    An order that already has another session is not this session's order.
    """
    order_id = order_id_from_metadata(session)
    if order_id is None:
        session_id = session.get("id")
        return (
            Order.objects.filter(stripe_checkout_session_id=str(session_id)).first() if session_id else None
        )
    order = Order.objects.filter(pk=order_id).first()
    if order and order.stripe_checkout_session_id and order.stripe_checkout_session_id != session.get("id"):
        logger.warning(
            "session does not match order", extra={"order_id": str(order_id), "session": session.get("id")}
        )
        return None
    return order


def order_for_charge(*, charge: dict[str, Any]) -> Order | None:
    """The order a Stripe charge paid for: by its payment intent, else by ``metadata.order_id``.

    Checkout copies our order id into the PaymentIntent's metadata and from there onto its
    charges, so a refund that overtakes the completion event can still find its order.
    """
    payment_intent = charge.get("payment_intent")
    if payment_intent:
        order = Order.objects.filter(stripe_payment_intent_id=str(payment_intent)).first()
        if order is not None:
            return order
    order_id = order_id_from_metadata({"metadata": charge.get("metadata")})
    return Order.objects.filter(pk=order_id).first() if order_id else None
