"""An order's job runs: requesting one (through the ``queueing`` outbox), stopping them, and the
order side of the reconciler.

Run N of an order has the deterministic job id ``<kind>-<order id>-run-<N>`` and goes to its
kind's queue; the request row names the job function and its arguments, so ``queueing`` can put
it on RQ again knowing nothing of orders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from purchases.models import EmailRecord, Order, OrderStatus, OrderTransition
from purchases.services.emails import email_record_deliver
from purchases.services.orders import order_transition
from queueing.enqueue import job_request_create, jobs_discard_after_commit
from queueing.models import JobRequest
from queueing.reconcile import job_requests_reconcile
from queueing.services import job_requests_cancel

logger = logging.getLogger(__name__)

QUEUE_FOR_KIND = {Order.Kind.BACKLINK: "backlink-integration", Order.Kind.ARTICLE: "article-generation"}
JOB_FOR_KIND = {
    Order.Kind.BACKLINK: "purchases.jobs.backlink_integration_job",
    Order.Kind.ARTICLE: "purchases.jobs.article_generation_job",
}


def order_queue(order: Order) -> str:
    return QUEUE_FOR_KIND[Order.Kind(order.kind)]


def job_id_for(*, order: Order, run: int) -> str:
    """Deterministic: the same order and run always map to the same RQ job id."""
    return f"{order.kind}-{order.id}-run-{run}"


# The order fields ``order_job_enqueue`` sets: a caller that saves the row itself right after
# (``save=False``) includes them in its own ``update_fields``.
ORDER_JOB_FIELDS = ("job_runs", "queue_job_id")


def order_job_enqueue(*, order: Order, purpose: str = JobRequest.Purpose.INITIAL, save: bool = True) -> str:
    """Start the next job run for ``order``; the caller holds the row lock inside a transaction.

    The run number, the job id and the outbox request are written with the caller's state
    change; the job reaches Redis only when that transaction commits. Returns the job id.
    With ``save=False`` the row is not saved here: the caller saves ``ORDER_JOB_FIELDS`` with its
    own change in the same transaction (one UPDATE of the order instead of two).
    """
    order.job_runs += 1
    run = order.job_runs
    job_id = job_id_for(order=order, run=run)
    order.queue_job_id = job_id
    if save:
        order.save(update_fields=[*ORDER_JOB_FIELDS, "updated_at"])
    job_request_create(
        subject_id=order.id,
        run=run,
        job_id=job_id,
        queue=order_queue(order),
        func=JOB_FOR_KIND[Order.Kind(order.kind)],
        kwargs={"order_id": str(order.id), "run": run},
        purpose=purpose,
    )
    return job_id


def order_work_start(
    *, order: Order, source: str, reason: str, actor: Any = None, extra_fields: tuple[str, ...] = ()
) -> OrderTransition:
    """Move the paid ``order`` (locked by the caller) to PROCESSING with its first job run.

    The work a payment starts (``order_mark_paid``) or staff's acceptance of the target starts
    (``order_target_accept``): the run is requested in the caller's transaction and reaches
    Redis only after it commits. One UPDATE of the row saves the move, the run fields and
    ``extra_fields``. Raises IllegalTransition (nothing changed) when the table forbids the move.
    """
    order_job_enqueue(order=order, save=False)
    return order_transition(
        order=order,
        to_status=OrderStatus.PROCESSING,
        source=source,
        actor=actor,
        reason=reason,
        extra_fields=(*extra_fields, *ORDER_JOB_FIELDS),
    )


def order_jobs_cancel(*, order: Order) -> list[str]:
    """Stop the order's work: open job requests CANCELLED now, queued RQ jobs removed after commit.

    The caller holds the order's row lock inside a transaction and has already moved the order
    out of PROCESSING, so a job that still runs (already started, or Redis unreachable when the
    removal runs) finds nothing to do and stores nothing. Returns the job ids cancelled.
    """
    job_ids = [request.job_id for request in job_requests_cancel(subject_id=order.id)]
    if order.queue_job_id and order.queue_job_id not in job_ids:
        job_ids.append(order.queue_job_id)
    jobs_discard_after_commit(job_ids=job_ids, queue_name=order_queue(order))
    return job_ids


@dataclass
class OrdersReconcileReport:
    checked: int = 0
    requeued: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    emails_sent: int = 0
    redis_error: str = ""

    def summary(self) -> str:
        return (
            f"checked {self.checked} processing orders; requeued {len(self.requeued)}, abandoned-and-requeued "
            f"{len(self.abandoned)}, new job requests {len(self.created)}, superseded {len(self.superseded)}; "
            f"emails sent {self.emails_sent}"
            + (f"; Redis error: {self.redis_error}" if self.redis_error else "")
        )


def orders_reconcile(
    *, grace: timedelta | None = None, heartbeat_grace: timedelta | None = None
) -> OrdersReconcileReport:
    """Every PROCESSING order has exactly its current run open and on RQ; unsent emails go out.

    First the order side: runs of an order that are not its current one are cancelled
    (superseded), and an order whose current run has ended without moving the order gets a
    fresh RETRY run. Then ``queueing`` puts every open request whose job is missing or abandoned
    back on RQ. ``grace`` leaves alone what changed just now (its after-commit enqueue may be
    under way); ``heartbeat_grace``: see ``queueing.reconcile.job_requests_reconcile``.
    """
    grace = grace if grace is not None else timedelta(seconds=settings.RECONCILE_GRACE_SECONDS)
    heartbeat_grace = heartbeat_grace or timedelta(seconds=settings.RECONCILE_HEARTBEAT_GRACE_SECONDS)
    report = OrdersReconcileReport()
    cutoff = timezone.now() - grace
    for order_id in Order.objects.filter(status=OrderStatus.PROCESSING, updated_at__lte=cutoff).values_list(
        "id", flat=True
    )[:500]:
        _order_runs_reconcile(order_id=order_id, report=report)
    runs = job_requests_reconcile(changed_before=cutoff, heartbeat_grace=heartbeat_grace)
    report.requeued, report.abandoned, report.redis_error = runs.requeued, runs.abandoned, runs.redis_error
    report.emails_sent = _send_unsent_emails(cutoff=cutoff)
    logger.info(
        "reconcile finished",
        extra={
            "summary": report.summary(),
            "checked": report.checked,
            "requeued": len(report.requeued),
            "abandoned": len(report.abandoned),
            "new_job_requests": len(report.created),
            "superseded": len(report.superseded),
            "emails_sent": report.emails_sent,
            "redis_error": report.redis_error or None,
        },
    )
    return report


def _order_runs_reconcile(*, order_id: UUID, report: OrdersReconcileReport) -> None:
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(skip_locked=True)
            .filter(pk=order_id, status=OrderStatus.PROCESSING)
            .first()
        )
        if order is None:
            return  # another process holds it (a worker finishing, another reconciler) or it moved on
        report.checked += 1
        stale = job_requests_cancel(subject_id=order.id, keep_run=order.job_runs)
        report.superseded += [request.job_id for request in stale]
        jobs_discard_after_commit(job_ids=[r.job_id for r in stale], queue_name=order_queue(order))
        request = JobRequest.objects.filter(subject_id=order.id, run=order.job_runs).first()
        if request is None or request.state in (JobRequest.State.DONE, JobRequest.State.FAILED):
            # A paid order with no open run: start a fresh one (a job that ended without moving the order).
            report.created.append(order_job_enqueue(order=order, purpose=JobRequest.Purpose.RETRY))


def _send_unsent_emails(*, cutoff: object) -> int:
    sent = 0
    unsent = EmailRecord.objects.filter(
        sent_at__isnull=True, coalesced_into__isnull=True, created_at__lte=cutoff
    )
    for record_id in unsent.values_list("id", flat=True)[:200]:
        sent += int(email_record_deliver(record_id=record_id))
    return sent
