"""Final failure of a paid order: the customer is told once, staff are told, and the money goes back.

Or staff retry it instead: a new run, as long as none of the money went back. And before any of
that, an outage of the writing service is waited out (``order_outage_wait``), not failed by the clock.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction

from purchases.actions import FAIL, RETRY
from purchases.errors import ApplicationError
from purchases.models import EmailKind, OrderStatus
from purchases.services.emails import AUTO_REFUND_NOTE, order_email_queue, staff_notify
from purchases.services.orders import order_lock, order_transition
from purchases.services.refunds import order_refund
from purchases.services.runs import order_job_enqueue
from queueing.models import JobRequest

logger = logging.getLogger(__name__)


@FAIL.effect
def order_fail(*, order_id: UUID | str, reason: str) -> bool:
    """Final failure: FAILED with the reason, the customer emailed once, staff told. False if not PROCESSING.

    With ``AUTO_REFUND_ON_FAILURE`` (the default) a paid order is then refunded in full, after
    the commit, so the failure stands even when Stripe does not answer.
    """
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if not FAIL.allows(order):
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
        if settings.AUTO_REFUND_ON_FAILURE and order.is_paid:
            transaction.on_commit(lambda: order_auto_refund(order_id=order.id, reason=reason))
    return True


def order_outage_wait(*, order_id: UUID | str, waited_seconds: float) -> bool:
    """Whether a run of ``order_id`` that has waited ``waited_seconds`` for the writing service waits on.

    Within ``LLM_OUTAGE_PATIENCE_SECONDS`` it does (True), and once it has waited
    ``LLM_OUTAGE_EMAIL_AFTER_SECONDS`` the customer of a still PROCESSING order gets the "delayed"
    email, once per order (its ``EmailRecord`` key is fixed). Past the window: False, the caller
    fails the order (``order_fail``, and the refund policy applies).
    """
    if waited_seconds > settings.LLM_OUTAGE_PATIENCE_SECONDS:
        return False
    if waited_seconds >= settings.LLM_OUTAGE_EMAIL_AFTER_SECONDS:
        with transaction.atomic():
            order = order_lock(order_id=order_id)
            if FAIL.allows(order):  # still PROCESSING: what it waits for is still owed
                order_email_queue(order=order, kind=EmailKind.ORDER_DELAYED, key="writing-service-outage")
    return True


def outage_failure_reason() -> str:
    hours = settings.LLM_OUTAGE_PATIENCE_SECONDS / 3600
    return f"The writing service was unavailable for longer than we wait ({hours:g} hours)."


def writing_service_down_notify() -> None:
    """The writing service's breaker opened (``purchases.jobs.writing_service_breaker``): staff told once."""
    staff_notify(
        subject="Writing service unavailable: orders are waiting",
        message=(
            f"{settings.LLM_BREAKER_THRESHOLD} model calls in a row failed with transient errors, so calls "
            f"have stopped; one probe every {settings.LLM_BREAKER_COOLDOWN_SECONDS:g} s decides when to resume. "
            "Orders stay PROCESSING and are not refunded while it lasts (up to "
            f"{settings.LLM_OUTAGE_PATIENCE_SECONDS / 3600:g} hours). Another email follows when it is back."
        ),
    )


def writing_service_back_notify() -> None:
    """The writing service's breaker closed: staff told once; the held orders are running again."""
    staff_notify(
        subject="Writing service back: waiting orders resumed",
        message="A model call succeeded, the breaker closed and the orders that were waiting run again now.",
    )


@RETRY.effect
def order_retry(*, order_id: UUID | str, actor: Any, reason: str) -> str:
    """FAILED -> PROCESSING and a new run (purpose RETRY) for a paid order nothing was refunded of.

    Staff with the retry permission only (403 otherwise); refused (409) for an unpaid or partly
    refunded order, in any other status, or while a run is still open. Who and ``reason`` are
    recorded on the move. The failure reason is cleared; the customer hears from us again when the
    new draft is ready (the run's "revision ready" email). Returns the job id.
    """
    RETRY.check_permission(actor)
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        RETRY.check(order, actor)
        order.failure_reason = ""
        order_transition(
            order=order,
            to_status=OrderStatus.PROCESSING,
            source="staff",
            actor=actor,
            reason=f"Try again: {reason}"[:2000],
            extra_fields=("failure_reason",),
        )
        return order_job_enqueue(order=order, purpose=JobRequest.Purpose.RETRY)


def order_auto_refund(*, order_id: UUID | str, reason: str) -> bool:
    """Refund a failed order in full (source "system"). Never raises: a refund Stripe refuses or
    cannot make is logged and staff are asked to refund by hand. True when it was refunded.
    """
    try:
        order_refund(order_id=order_id, source="system", reason=f"{AUTO_REFUND_NOTE}{reason}"[:2000])
    except ApplicationError as exc:
        logger.warning("automatic refund failed", extra={"order_id": str(order_id), "error": exc.message})
        staff_notify(
            subject=f"Refund order {order_id} by hand",
            message=f"The automatic refund after a failure did not go through: {exc.message}\n\nFailure: {reason}",
        )
        return False
    except Exception:
        logger.exception("automatic refund crashed", extra={"order_id": str(order_id)})
        staff_notify(
            subject=f"Refund order {order_id} by hand",
            message=f"The automatic refund after a failure crashed; see the logs.\n\nFailure: {reason}",
        )
        return False
    return True
