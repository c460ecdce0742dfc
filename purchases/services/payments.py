"""Payment confirmed: the order starts its work. Called by the Stripe webhook (and reconcilers)."""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from articles.selectors import article_slots_used
from purchases.models import Order, OrderStatus
from purchases.services.emails import staff_notify
from purchases.services.orders import order_lock, order_transition
from queueing.enqueue import order_job_enqueue

logger = logging.getLogger(__name__)


@transaction.atomic
def order_mark_paid(*, order_id: UUID | str, payment_intent_id: str, source: str = "stripe") -> bool:
    """PENDING_PAYMENT -> PROCESSING and enqueue the first job run. False if it was already paid.

    Money taken is never refused: if the article sold out meanwhile the order still goes ahead
    and the editors are told.
    """
    order = order_lock(order_id=order_id)
    if order.status != OrderStatus.PENDING_PAYMENT:
        logger.info("payment already handled", extra={"order_id": str(order.id), "status": order.status})
        return False
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
    order.paid_at = timezone.now()
    order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
    order_transition(
        order=order,
        to_status=OrderStatus.PROCESSING,
        source=source,
        reason="payment confirmed",
        extra_fields=("paid_at", "stripe_payment_intent_id"),
    )
    order_job_enqueue(order=order)
    return True
