"""The run reconciler: PostgreSQL is the record, Redis only carries messages.

It repairs what a lost message leaves behind: an open request whose job is missing from Redis
(never enqueued because Redis was down at commit, or lost to a wipe or a restart without AOF) and
a job whose worker died mid-run (no heartbeat). The job is put again under the same job id from
its row, so RQ never holds two copies, and job functions are idempotent. Rows are claimed with
``FOR UPDATE SKIP LOCKED``, so several reconcilers (cron plus an operator) never collide.

What a subject's app must add (e.g. an order PROCESSING with no open run) it does itself before
calling ``job_requests_reconcile`` (see ``purchases.services.runs.orders_reconcile``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import django_rq
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rq.job import Job, JobStatus

from queueing.enqueue import ACTIVE_STATUSES, job_put
from queueing.models import OPEN_STATES, JobRequest
from queueing.services import job_attempts_interrupt, job_request_requeue

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass
class RunsReconcileReport:
    checked: int = 0
    requeued: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    redis_error: str = ""


def _job_state(job_id: str, queue: str) -> tuple[JobStatus | None, Job | None]:
    connection = django_rq.get_connection(queue)
    job = Job.fetch(job_id, connection=connection) if Job.exists(job_id, connection=connection) else None
    return (job.get_status(refresh=False) if job else None), job


def _heartbeat_lost(job: Job, *, grace: timedelta) -> bool:
    beat = job.last_heartbeat or job.started_at
    return beat is None or timezone.now() - (beat if beat.tzinfo else beat.replace(tzinfo=UTC)) > grace


def job_requests_reconcile(*, changed_before: datetime, heartbeat_grace: timedelta) -> RunsReconcileReport:
    """Make every open request (not changed since ``changed_before``) have its job on RQ.

    ``heartbeat_grace`` is how long a started job may go without a worker heartbeat before it
    counts as abandoned (RQ workers beat every few seconds while a job runs). Stops at the first
    Redis error, reporting it: nothing is lost, the next run goes on.
    """
    report = RunsReconcileReport()
    ids = list(
        JobRequest.objects.filter(state__in=OPEN_STATES, updated_at__lte=changed_before)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    for request_id in ids:
        try:
            _reconcile_one(request_id=request_id, report=report, heartbeat_grace=heartbeat_grace)
        except RedisError as exc:
            report.redis_error = str(exc)
            logger.warning("reconcile stopped: Redis unreachable", extra={"error": str(exc)})
            break
    return report


def _reconcile_one(*, request_id: int, report: RunsReconcileReport, heartbeat_grace: timedelta) -> None:
    with transaction.atomic():
        request = (
            JobRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=request_id, state__in=OPEN_STATES)
            .first()
        )
        if request is None:
            return  # another process holds it (a worker starting it, another reconciler) or it closed
        report.checked += 1
        status, job = _job_state(request.job_id, request.queue)
        abandoned = (
            status == JobStatus.STARTED and job is not None and _heartbeat_lost(job, grace=heartbeat_grace)
        )
        if status in ACTIVE_STATUSES and not abandoned:
            return
        if abandoned and job is not None:
            report.abandoned.append(request.job_id)
        else:
            report.requeued.append(request.job_id)
        _put_back(request=request, job=job if abandoned else None)


def _put_back(*, request: JobRequest, job: Job | None) -> None:
    """Back to PENDING, and on RQ again under the same job id once the transaction commits.

    ``job`` is a started copy whose worker is gone: it is deleted first (out of the started
    registry too) so the new copy replaces it. Call inside ``transaction.atomic`` with the row locked.
    """
    if job is not None:
        job.delete()
    job_request_requeue(job_id=request.job_id)
    job_id = request.job_id
    transaction.on_commit(lambda: job_put(job_id=job_id))


def job_hand_back(*, job_id: str, worker: str, reason: str) -> bool:
    """Put back at once a job that ``worker`` stopped mid-run (its work horse is dead), so it runs again.

    A stopping worker calls this after killing its work horse (``queueing.worker``): the attempt is
    closed as "interrupted" and the job is queued again under the same id, instead of waiting for
    the reconciler to see its heartbeat stop (``RECONCILE_HEARTBEAT_GRACE_SECONDS``). Safe because
    job functions are idempotent. Returns False when nothing was put back: the request is closed,
    or its row is locked by someone else (the reconciler then handles it). If Redis fails after the
    commit the request is PENDING with no job, which the reconciler's next run puts back.
    """
    with transaction.atomic():
        request = (
            JobRequest.objects.select_for_update(skip_locked=True)
            .filter(job_id=job_id, state__in=OPEN_STATES)
            .first()
        )
        if request is None:
            return False
        job_attempts_interrupt(request=request, worker=worker, reason=reason)
        status, job = _job_state(request.job_id, request.queue)
        if status in ACTIVE_STATUSES and status != JobStatus.STARTED:
            return False  # already queued or scheduled again (by a reconciler)
        _put_back(request=request, job=job)
    logger.warning("job handed back by a stopping worker", extra={"job_id": job_id, "worker": worker})
    return True
