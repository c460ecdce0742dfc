"""Final failure of a paid order: the customer is told once and staff are told."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from purchases.models import EmailKind, OrderStatus
from purchases.services.emails import order_email_queue, staff_notify
from purchases.services.orders import order_lock, order_transition


def order_fail(*, order_id: UUID | str, reason: str) -> bool:
    """Final failure: FAILED with the reason, the customer emailed once, staff told. False if not PROCESSING."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.status != OrderStatus.PROCESSING:
            return False
        order.failure_reason = reason[:4000]
        order_transition(
            order=order,
            to_status=OrderStatus.FAILED,
            source="worker",
            reason=reason,
            extra_fields=("failure_reason",),
        )
        order_email_queue(order=order, kind=EmailKind.ORDER_FAILED, key=f"run-{order.job_runs}")
        transaction.on_commit(
            lambda: staff_notify(
                subject=f"Order {order.id} failed", message=f"{reason}\n\nCustomer: {order.customer_email}"
            )
        )
    return True
