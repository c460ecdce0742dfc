"""Putting jobs on the RQ queues, only after the database transaction commits.

Generic: the outbox row (``JobRequest``) holds everything RQ needs (queue, job id, the job
function's dotted path and its keyword arguments), so a job can be put again from the row alone.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from blogorder.logs import carried_log_context
from queueing.connections import rq_connection, rq_queue
from queueing.models import OPEN_STATES, JobRequest
from queueing.services import job_request_create_enqueued, job_request_mark_enqueued, job_request_requeue

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
RETRY_MAX = 3


def job_request_create(
    *,
    subject_id: UUID,
    run: int,
    job_id: str,
    queue: str,
    func: str,
    kwargs: dict[str, Any],
    purpose: str = JobRequest.Purpose.INITIAL,
) -> JobRequest:
    """Write the outbox row in the caller's transaction; the job reaches Redis when it commits.

    The caller's state change and this row commit together, so the work is never without its
    record. The row is written already ENQUEUED (put once, now), so putting the job after commit
    writes nothing more to PostgreSQL: one durable commit per state change, not three. If Redis
    is down at commit the error is logged and the request goes back to PENDING for the
    reconciler, which puts it again under the same job id; a process that dies between the commit
    and the put leaves an ENQUEUED request whose job RQ never got, which the reconciler puts
    again as well (an open request without its job).
    """
    request = job_request_create_enqueued(
        subject_id=subject_id, run=run, job_id=job_id, queue=queue, func=func, kwargs=kwargs, purpose=purpose
    )
    transaction.on_commit(lambda: _put_new(request), robust=True)
    return request


def _put_new(request: JobRequest) -> None:
    """After commit: a request just written (``job_request_create``) onto RQ, from the row in hand.

    Nothing to read first: its job id is new (unique in the outbox), so RQ cannot hold it yet.
    """
    try:
        _enqueue(request, queue=rq_queue(request.queue, commit_mode="auto"))
    except RedisError as exc:
        job_request_requeue(job_id=request.job_id)
        logger.warning("job not put: Redis unreachable", extra={"job_id": request.job_id, "error": str(exc)})
        return
    logger.info("job enqueued", extra={"job_id": request.job_id, "queue": request.queue, "run": request.run})


def enqueue_in_one_trip(queue: Queue, func: str, **options: Any) -> Job:
    """``queue.enqueue_call(func, **options)`` in one Redis round trip.

    RQ on its own sends two transactions a job (the queue added to its set of queues, then the job
    saved and pushed); given a pipeline it adds both to it, and the one MULTI/EXEC keeps them
    together. A paid webhook puts two jobs, so this halves its round trips to Redis.
    """
    pipeline = queue.connection.pipeline()
    job = queue.enqueue_call(func, pipeline=pipeline, **options)
    pipeline.execute()
    return job


def _enqueue(request: JobRequest, *, queue: Queue) -> None:
    enqueue_in_one_trip(
        queue,
        request.func,
        kwargs=request.kwargs,
        job_id=request.job_id,
        retry=Retry(max=RETRY_MAX, interval=settings.RQ_RETRY_INTERVALS),
        timeout=settings.RQ_JOB_TIMEOUT_SECONDS,
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        # The request id it is put under (if any): the job's log lines carry it (queueing.runtime.job_log_context).
        meta={"stage": "queued", "progress": 0, "attempt": 0, **carried_log_context()},
        description=f"{request.job_id} ({request.get_purpose_display().lower()})",
    )


def job_put(*, job_id: str) -> bool:
    """Put the request's job on RQ. Returns True when it was enqueued now.

    Idempotent: a job id already queued, scheduled or running is left alone, and a request that
    is no longer open (done, failed, cancelled) is not put again.
    """
    request = JobRequest.objects.filter(job_id=job_id).first()
    if request is None or request.state not in OPEN_STATES:
        logger.info("job not put: no open request", extra={"job_id": job_id})
        return False
    queue = rq_queue(request.queue, commit_mode="auto")
    existing = queue.fetch_job(job_id)
    if existing is not None and existing.get_status(refresh=False) in ACTIVE_STATUSES:
        logger.info("job already on the queue", extra={"job_id": job_id})
        return False
    JobRequest.objects.filter(job_id=job_id).update(enqueue_count=F("enqueue_count") + 1)
    _enqueue(request, queue=queue)
    job_request_mark_enqueued(job_id=job_id)
    logger.info("job enqueued", extra={"job_id": job_id, "queue": request.queue, "run": request.run})
    return True


def jobs_discard_after_commit(*, job_ids: list[str], queue_name: str) -> None:
    """Take these jobs off RQ once the caller's transaction commits (see ``jobs_discard``)."""
    if job_ids:
        transaction.on_commit(lambda: jobs_discard(job_ids=job_ids, queue_name=queue_name), robust=True)


def jobs_discard(*, job_ids: list[str], queue_name: str) -> list[str]:
    """Cancel in RQ the jobs that have not started (queued, scheduled for a retry, deferred).

    Best effort: a started job is left to finish (its job function checks its subject), and
    Redis being down is logged, not raised. Returns the ids taken off the queue.
    """
    discarded: list[str] = []
    try:
        connection = rq_connection(queue_name)
        for job_id in job_ids:
            try:
                job = Job.fetch(job_id, connection=connection)
                if job.get_status() in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
                    job.cancel()
                    discarded.append(job_id)
            except (NoSuchJobError, InvalidJobOperation):
                continue
    except RedisError as exc:
        logger.warning("could not take jobs off the queue", extra={"job_ids": job_ids, "error": str(exc)})
        return discarded
    logger.info("jobs taken off the queue", extra={"job_ids": discarded, "queue": queue_name})
    return discarded
