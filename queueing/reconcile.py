"""The reconciler: PostgreSQL is the record, Redis only carries messages.

It repairs what a lost message leaves behind: a paid order PROCESSING whose job is missing from
Redis (never enqueued because Redis was down at commit, or lost to a FLUSHALL or a restart
without AOF), a job whose worker died mid-run (no heartbeat), and customer emails recorded but
never sent. Work is re-enqueued under the same deterministic job id, so RQ never holds two
copies, and the jobs themselves are idempotent. Rows are claimed with ``FOR UPDATE SKIP
LOCKED``, so several reconcilers (cron plus an operator running the command) never collide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from uuid import UUID

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rq.job import Job, JobStatus

from purchases.models import EmailRecord, Order, OrderStatus
from purchases.services.emails import email_record_deliver
from queueing.enqueue import ACTIVE_STATUSES, job_put, order_job_enqueue
from queueing.models import JobRequest
from queueing.services import job_request_requeue, job_requests_cancel

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
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


def _job_state(job_id: str, queue: str) -> tuple[JobStatus | None, Job | None]:
    connection = django_rq.get_connection(queue)
    job = Job.fetch(job_id, connection=connection) if Job.exists(job_id, connection=connection) else None
    return (job.get_status(refresh=False) if job else None), job


def _heartbeat_lost(job: Job, *, now_grace: timedelta) -> bool:
    beat = job.last_heartbeat or job.started_at
    return beat is None or timezone.now() - (beat if beat.tzinfo else beat.replace(tzinfo=UTC)) > now_grace


def orders_reconcile(
    *, grace: timedelta | None = None, heartbeat_grace: timedelta | None = None
) -> ReconcileReport:
    """Make every PROCESSING order's current run exist on RQ, then send any unsent email.

    ``grace`` leaves alone orders changed just now (their after-commit enqueue may be under way);
    ``heartbeat_grace`` is how long a started job may go without a worker heartbeat before it
    counts as abandoned (RQ workers beat every few seconds while a job runs).
    """
    grace = grace if grace is not None else timedelta(seconds=settings.RECONCILE_GRACE_SECONDS)
    heartbeat_grace = heartbeat_grace or timedelta(seconds=settings.RECONCILE_HEARTBEAT_GRACE_SECONDS)
    report = ReconcileReport()
    cutoff = timezone.now() - grace
    ids = list(
        Order.objects.filter(status=OrderStatus.PROCESSING, updated_at__lte=cutoff).values_list(
            "id", flat=True
        )[:500]
    )
    for order_id in ids:
        try:
            _reconcile_one(order_id=order_id, report=report, heartbeat_grace=heartbeat_grace)
        except RedisError as exc:
            report.redis_error = str(exc)
            logger.warning("reconcile stopped: Redis unreachable", extra={"error": str(exc)})
            break
    report.emails_sent = _send_unsent_emails(cutoff=cutoff)
    logger.info("reconcile finished", extra={"summary": report.summary()})
    return report


def _reconcile_one(*, order_id: UUID, report: ReconcileReport, heartbeat_grace: timedelta) -> None:
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(skip_locked=True)
            .filter(pk=order_id, status=OrderStatus.PROCESSING)
            .first()
        )
        if order is None:
            return  # another process holds it (a worker finishing, another reconciler) or it moved on
        report.checked += 1
        stale = job_requests_cancel(order_id=order.id, keep_run=order.job_runs)
        report.superseded += [r.job_id for r in stale]
        request = JobRequest.objects.filter(order=order, run=order.job_runs).first()
        if request is None or request.state in (JobRequest.State.DONE, JobRequest.State.FAILED):
            # A paid order with no open run: start a fresh one (a job that ended without moving the order).
            report.created.append(order_job_enqueue(order=order, purpose=JobRequest.Purpose.RETRY))
            return
        status, job = _job_state(request.job_id, request.queue)
        if status in ACTIVE_STATUSES and not (
            status == JobStatus.STARTED
            and job is not None
            and _heartbeat_lost(job, now_grace=heartbeat_grace)
        ):
            return
        if status == JobStatus.STARTED and job is not None:
            report.abandoned.append(request.job_id)
            job.delete()  # its worker is gone; a new copy under the same id replaces it
        else:
            report.requeued.append(request.job_id)
        job_request_requeue(job_id=request.job_id)
        job_id, run, kind = request.job_id, request.run, order.kind
        transaction.on_commit(lambda: job_put(order_id=str(order_id), kind=kind, run=run, job_id=job_id))


def _send_unsent_emails(*, cutoff: object) -> int:
    sent = 0
    for record_id in EmailRecord.objects.filter(sent_at__isnull=True, created_at__lte=cutoff).values_list(
        "id", flat=True
    )[:200]:
        sent += int(email_record_deliver(record_id=record_id))
    return sent
