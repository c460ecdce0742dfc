"""Scheduled publishing: staff approve a draft for a date and time; a periodic job publishes it then.

``order_schedule_publish`` moves ADMIN_REVIEW -> SCHEDULED with ``Order.publish_at`` (the slot stays
held: SCHEDULED is in ``SLOT_HOLDING_PAID``); ``order_schedule_move`` and ``order_schedule_cancel``
change or drop it. Every minute the cron's ``scheduled_publish_due_job`` puts one job per due order
on the ``maintenance`` queue (``scheduled_publishes_enqueue``), and that job calls
``order_scheduled_publish``, which publishes through the same service as approve & publish
(``order_proposal_publish``: as is, carried over, or re-run when the article changed under the
link). An order it cannot publish goes back to the editors (``order_schedule_return``) with the
reason in its timeline; either way staff are emailed when it did not go live.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rq import Retry

from blogorder.logs import carried_log_context
from purchases.actions import CANCEL_SCHEDULE, MOVE_SCHEDULE, PUBLISH_SCHEDULED, SCHEDULE_PUBLISH
from purchases.errors import ApplicationError, InvalidField
from purchases.models import Order, OrderStatus
from purchases.selectors import orders_scheduled_due
from purchases.services.emails import staff_notify
from purchases.services.orders import order_event_record, order_lock, order_transition
from purchases.services.review import order_proposal_publish
from purchases.status_messages import publish_time_text
from queueing.connections import rq_queue
from queueing.enqueue import ACTIVE_STATUSES

logger = logging.getLogger(__name__)

# The fields a schedule sets and clears, saved with the move that changes them.
SCHEDULE_FIELDS = ("publish_at", "scheduled_by")
SCHEDULED_PUBLISH_JOB = "purchases.jobs.scheduled_publish_job"
SCHEDULED_PUBLISH_QUEUE = "maintenance"


@dataclass(frozen=True)
class ScheduleResult:
    order_id: UUID
    publish_at: datetime
    message: str


def publish_at_clean(publish_at: Any, *, now: datetime | None = None) -> datetime:
    """``publish_at`` if it is a timezone-aware date and time in the future, within
    ``SCHEDULE_MAX_DAYS``; else 400 ``invalid`` naming the field ``publishAt``, nothing changed."""
    now = now or timezone.now()

    def invalid(why: str) -> InvalidField:
        return InvalidField(f"Choose another publishing time: {why}", fields={"publishAt": [why]})

    if not isinstance(publish_at, datetime) or timezone.is_naive(publish_at):
        raise invalid("A date and time with its time zone is required.")
    if publish_at <= now:
        raise invalid("The publishing time must be in the future.")
    if publish_at > now + timedelta(days=settings.SCHEDULE_MAX_DAYS):
        raise invalid(f"The publishing time must be within {settings.SCHEDULE_MAX_DAYS} days.")
    return publish_at


def _admin_url(order: Order) -> str:
    return settings.SITE_URL + reverse("admin:purchases_order_change", args=[order.pk])


@SCHEDULE_PUBLISH.effect
def order_schedule_publish(*, order_id: UUID | str, actor: Any, publish_at: Any) -> ScheduleResult:
    """Approve the order's draft to be published at ``publish_at``: ADMIN_REVIEW -> SCHEDULED.

    Needs the publish permission (403); a time that is not aware, in the future and within
    ``SCHEDULE_MAX_DAYS`` is refused (400, ``publishAt``); an order not waiting for review, already
    scheduled included, is refused (409). The move records who scheduled it and for when.
    """
    SCHEDULE_PUBLISH.check_permission(actor)
    publish_at = publish_at_clean(publish_at)
    when = publish_time_text(publish_at)
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        SCHEDULE_PUBLISH.check(order, actor)
        order.publish_at = publish_at
        order.scheduled_by = actor
        order_transition(
            order=order,
            to_status=OrderStatus.SCHEDULED,
            source="staff",
            actor=actor,
            reason=f"approved; scheduled to publish on {when}",
            extra_fields=SCHEDULE_FIELDS,
        )
    return ScheduleResult(order.id, publish_at, f"approved; publishes on {when}.")


@MOVE_SCHEDULE.effect
def order_schedule_move(*, order_id: UUID | str, actor: Any, publish_at: Any) -> ScheduleResult:
    """Publish a scheduled order at another time; recorded as SCHEDULED -> SCHEDULED with both times."""
    MOVE_SCHEDULE.check_permission(actor)
    publish_at = publish_at_clean(publish_at)
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        MOVE_SCHEDULE.check(order, actor)
        before = publish_time_text(order.publish_at) if order.publish_at else "no time"
        order.publish_at = publish_at
        order.scheduled_by = actor
        order.save(update_fields=[*SCHEDULE_FIELDS, "updated_at"])
        order_event_record(
            order=order,
            source="staff",
            actor=actor,
            reason=f"schedule moved from {before} to {publish_time_text(publish_at)}",
        )
    return ScheduleResult(order.id, publish_at, f"moved; now publishes on {publish_time_text(publish_at)}.")


@CANCEL_SCHEDULE.effect
def order_schedule_cancel(*, order_id: UUID | str, actor: Any) -> Order:
    """SCHEDULED -> ADMIN_REVIEW: nothing is published; the order waits for review again."""
    CANCEL_SCHEDULE.check_permission(actor)
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        CANCEL_SCHEDULE.check(order, actor)
        before = publish_time_text(order.publish_at) if order.publish_at else "no time"
        order.publish_at = None
        order.scheduled_by = None
        order_transition(
            order=order,
            to_status=OrderStatus.ADMIN_REVIEW,
            source="staff",
            actor=actor,
            reason=f"schedule cancelled (was {before})",
            extra_fields=SCHEDULE_FIELDS,
        )
    return order


@PUBLISH_SCHEDULED.effect
def order_scheduled_publish(*, order_id: UUID | str, now: datetime | None = None) -> str:
    """Publish a due scheduled order through the publish service. Returns what happened:
    ``published``, ``carried_over``, ``rebased`` (the article changed under the link: a new run, as
    approve & publish does), ``returned`` (it could not be published: back to the editors) or
    ``skipped`` (not scheduled any more, or not due).

    Idempotent: it acts only on a SCHEDULED order whose ``publish_at`` has come, under its row lock,
    and every outcome moves the order out of SCHEDULED; a second run skips. The publish is recorded
    as the system's, in the name of whoever scheduled it. Staff are emailed when it did not go live.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            order = order_lock(order_id=order_id)
            if not PUBLISH_SCHEDULED.is_due(order, now=now):
                return "skipped"
            PUBLISH_SCHEDULED.check(order)
            actor = order.scheduled_by
            assert order.publish_at is not None  # is_due
            note = f" (scheduled for {publish_time_text(order.publish_at)} by {actor or 'staff'})"
            order.publish_at = None
            order.scheduled_by = None
            result = order_proposal_publish(
                order=order, actor=actor, source="system", note=note, extra_fields=SCHEDULE_FIELDS
            )
            if result.outcome == "rebased":
                _notify_after_commit(
                    order,
                    subject=f"Scheduled publish re-placing the link: {order.display_title}",
                    why=result.message,
                )
    except ApplicationError as exc:
        return "returned" if order_schedule_return(order_id=order_id, reason=exc.message) else "skipped"
    logger.info("scheduled publish", extra={"order_id": str(order_id), "outcome": result.outcome})
    return result.outcome


def order_schedule_return(*, order_id: UUID | str, reason: str) -> bool:
    """A scheduled order that could not be published goes back to the editors: SCHEDULED -> ADMIN_REVIEW
    with ``reason`` in its timeline; staff are emailed after commit. False if it was no longer scheduled."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if not order.is_scheduled:
            return False
        order.publish_at = None
        order.scheduled_by = None
        order_transition(
            order=order,
            to_status=OrderStatus.ADMIN_REVIEW,
            source="system",
            reason=f"scheduled publish did not happen: {reason}",
            extra_fields=SCHEDULE_FIELDS,
        )
        _notify_after_commit(
            order, subject=f"Scheduled publish did not happen: {order.display_title}", why=reason
        )
    logger.warning(
        "scheduled publish returned to the editors", extra={"order_id": str(order_id), "reason": reason}
    )
    return True


def _notify_after_commit(order: Order, *, subject: str, why: str) -> None:
    message = f"{why}\n\nThe order is back with the editors. Review it: {_admin_url(order)}"
    transaction.on_commit(lambda: staff_notify(subject=subject, message=message))


def scheduled_publish_job_id(order_id: UUID, publish_at: datetime) -> str:
    """One job per order and scheduled time: a moved schedule gets a new job, a repeated tick does not."""
    return f"scheduled-publish-{order_id}-{int(publish_at.timestamp())}"


def scheduled_publishes_enqueue(*, now: datetime | None = None) -> list[str]:
    """Put one ``scheduled_publish_job`` per due scheduled order on the ``maintenance`` queue. Returns the job ids put.

    Idempotent: a job id already queued, scheduled or running is left alone, and the job itself
    skips an order that is no longer due; a job lost from Redis or failed is put again at the next tick.
    """
    due = orders_scheduled_due(now=now or timezone.now())
    if not due:
        return []
    queue = rq_queue(SCHEDULED_PUBLISH_QUEUE)
    put = []
    for order_id, publish_at in due:
        job_id = scheduled_publish_job_id(order_id, publish_at)
        existing = queue.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=False) in ACTIVE_STATUSES:
            continue
        queue.enqueue(
            SCHEDULED_PUBLISH_JOB,
            order_id=str(order_id),
            job_id=job_id,
            retry=Retry(max=len(settings.RQ_RETRY_INTERVALS), interval=settings.RQ_RETRY_INTERVALS),
            meta=carried_log_context(),
        )
        put.append(job_id)
    if put:
        logger.info("scheduled publishes enqueued", extra={"job_ids": put})
    return put
