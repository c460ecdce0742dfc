"""Chargebacks: Stripe disputes on an order's payment, flagged on the order and told to staff.

A dispute moves no status (the order keeps its place; a lost dispute takes the money back through
Stripe, not through us). It sets ``dispute_id``/``dispute_status``/``disputed_at`` and, while it is
open or once it is lost, offers staff the link take-down (``take_down_link``). Events may come in any
order and twice: a ``charge.dispute.created`` that arrives after the dispute closed changes nothing,
and each new status is told to staff once.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from purchases.models import DISPUTE_CLOSED_STATUSES
from purchases.services.emails import staff_notify
from purchases.services.orders import order_lock

logger = logging.getLogger(__name__)


@transaction.atomic
def order_dispute_record(
    *, order_id: UUID | str, dispute_id: str, status: str, reason: str, amount: str
) -> str:
    """Record what Stripe says of dispute ``dispute_id`` on the order; staff told of each new status.

    A closed dispute (won, lost, warning_closed) is never reopened by a late ``created`` or
    ``updated`` event. Returns an outcome word: ``dispute_opened``, ``dispute_closed``,
    ``dispute_updated``, or ``dispute_already_recorded`` when nothing changed.
    """
    order = order_lock(order_id=order_id)
    same = order.dispute_id == dispute_id
    closing = status in DISPUTE_CLOSED_STATUSES
    if same and (order.dispute_status == status or (order.dispute_closed and not closing)):
        return "dispute_already_recorded"
    opened = not same
    order.dispute_id = dispute_id
    order.dispute_status = status
    order.disputed_at = order.disputed_at if same and order.disputed_at else timezone.now()
    order.save(update_fields=["dispute_id", "dispute_status", "disputed_at", "updated_at"])
    logger.warning(
        "order disputed", extra={"order_id": str(order.id), "dispute_id": dispute_id, "status": status}
    )
    if closing:
        outcome = "dispute_closed"
        subject = f"Dispute on order {order.id} closed: {status}"
        advice = (
            "The money stays with us."
            if not order.link_at_risk
            else "The customer's bank took the money back. Take the link down from the order's review page "
            "(Take the link down) unless it should stay."
        )
    else:
        outcome = "dispute_opened" if opened else "dispute_updated"
        subject = f"Order {order.id} is disputed ({status})"
        advice = (
            "Answer it in the Stripe dashboard before its deadline. The link can be taken down from the "
            "order's review page (Take the link down) meanwhile."
        )
    message = (
        f"Stripe reports dispute {dispute_id} on order {order.id} for “{order.display_title}” "
        f"({amount}, reason {reason or 'not given'}), status {status}. {advice}"
    )
    transaction.on_commit(lambda: staff_notify(subject=subject, message=message))
    return outcome
