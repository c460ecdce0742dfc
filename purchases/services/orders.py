"""Status changes of an order, each recorded with who did it and why."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet

from blogorder.compiled_reads import CompiledRead
from purchases.models import Order, OrderTransition

logger = logging.getLogger(__name__)


def order_transition(
    *,
    order: Order,
    to_status: str,
    source: str,
    actor: Any = None,
    reason: str = "",
    extra_fields: tuple[str, ...] = (),
) -> OrderTransition:
    """Move ``order`` (already locked by the caller) and record the move; raises IllegalTransition.

    The caller must hold the row lock (``select_for_update``) inside a transaction, so two
    processes never both see the old status.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_transition must run inside a transaction holding the order row lock")
    previous = order.move_to(to_status)
    order.save(update_fields=["status", "updated_at", *extra_fields])
    logger.info(
        "order status changed",
        extra={
            "order_id": str(order.id),
            "from": previous,
            "to": to_status,
            "source": source,
            "reason": reason[:200],
        },
    )
    return OrderTransition.objects.create(
        order=order, from_status=previous, to_status=to_status, source=source, actor=actor, reason=reason
    )


def order_event_record(*, order: Order, source: str, actor: Any = None, reason: str) -> OrderTransition:
    """Record, in the order's timeline, something staff did that moves no status (a link taken down,
    a schedule moved): an entry from its status to the same status, with who and why."""
    return OrderTransition.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        source=source,
        actor=actor,
        reason=reason,
    )


def orders_for_update() -> QuerySet[Order]:
    """Orders read under their row lock, with their article: how a service that moves one reads it."""
    return Order.objects.select_for_update(of=("self",)).select_related("article")


# orders_for_update() of one order, compiled once per thread and connection (the order job's lock).
ORDER_LOCK = CompiledRead(lambda order_id: orders_for_update().filter(pk=order_id), params={"order_id": UUID})


def order_lock(*, order_id: Any) -> Order:
    """The order read under its row lock, with its article (``orders_for_update``): one statement."""
    return ORDER_LOCK.get(order_id=order_id)
