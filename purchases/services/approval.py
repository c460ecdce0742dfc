"""Review before work: staff accept or decline the target of a paid order that needs approval.

An order recorded at checkout as ``needs_approval`` (``checkout.order_needs_approval``) waits,
once paid, in AWAITING_APPROVAL (``payments.order_approval_await``): no run, no model call. Staff
then accept its target, which starts the work exactly as a payment does (``runs.order_work_start``),
or decline it with a reason, which refunds the payment in full through Stripe
(``refunds.order_refund_at_stripe``) and emails the customer the reason. Each service performs one
named action (``purchases.actions``: accept_target, decline_target) and asks its guard under the
order's row lock, so a double click or two editors at once do it once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction

from purchases.actions import ACCEPT_TARGET, DECLINE_TARGET
from purchases.errors import InvalidField
from purchases.models import EmailKind, Order
from purchases.services.emails import order_email_queue
from purchases.services.orders import order_lock
from purchases.services.refunds import order_refund_at_stripe
from purchases.services.runs import order_work_start


@ACCEPT_TARGET.effect
def order_target_accept(*, order_id: UUID | str, actor: Any) -> str:
    """AWAITING_APPROVAL -> PROCESSING with the first job run (enqueued after commit). Returns the job id.

    Recorded with the staff member in the timeline; the customer is emailed that writing started.
    Refused (409, nothing changed) for an order not waiting for approval, e.g. accepted already;
    403 without the ``approve_target`` permission.
    """
    ACCEPT_TARGET.check_permission(actor)
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        ACCEPT_TARGET.check(order, actor)
        transition = order_work_start(order=order, source="staff", actor=actor, reason="target accepted")
        order_email_queue(order=order, kind=EmailKind.TARGET_ACCEPTED, key=f"accept-{transition.pk}")
    return order.queue_job_id


@DECLINE_TARGET.effect
def order_target_decline(*, order_id: UUID | str, actor: Any, reason: str) -> Order:
    """Refund the order waiting for approval in full through Stripe and email the customer ``reason``.

    The move AWAITING_APPROVAL -> REFUNDED is recorded with the staff member and ``reason``. The
    reason is required (400 naming ``reason``). Refused (409, nothing changed) for an order not
    waiting for approval; 403 without the ``approve_target`` permission; 503 when Stripe fails
    (nothing changed). The Stripe call is idempotent per order (``order_refund_at_stripe``), so two
    declines at once make one refund and one email; a decline that crosses an acceptance still
    refunds, and the refund stops the run the acceptance started.
    """
    DECLINE_TARGET.check_permission(actor)
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidField(
            "A reason is required to decline a target.", fields={"reason": ["This field is required."]}
        )
    order = Order.objects.get(pk=order_id)
    DECLINE_TARGET.check(order, actor)
    return order_refund_at_stripe(
        order=order,
        amount_minor=None,
        actor=actor,
        reason=reason,
        source="staff",
        email_kind=EmailKind.TARGET_DECLINED,
    )
