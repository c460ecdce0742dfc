"""Putting order work on the RQ queues, only after the database transaction commits."""

from __future__ import annotations

import logging

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import F
from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from purchases.models import Order
from queueing.models import JobRequest
from queueing.services import job_request_mark_enqueued, job_requests_cancel

logger = logging.getLogger(__name__)

QUEUE_FOR_KIND = {Order.Kind.BACKLINK: "backlink-integration", Order.Kind.ARTICLE: "article-generation"}
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
RETRY_MAX = 3
JOB_FOR_KIND = {
    Order.Kind.BACKLINK: "queueing.jobs.backlink_integration_job",
    Order.Kind.ARTICLE: "queueing.jobs.article_generation_job",
}


def job_id_for(*, order: Order, run: int) -> str:
    """Deterministic: the same order and run always map to the same RQ job id."""
    return f"{order.kind}-{order.id}-run-{run}"


def order_job_enqueue(*, order: Order, purpose: str = JobRequest.Purpose.INITIAL) -> str:
    """Start the next job run for ``order``; the caller holds the row lock inside a transaction.

    The outbox row (``JobRequest``), the run number and the job id are written with the caller's
    state change; the job reaches Redis only when that transaction commits. If Redis is down at
    that moment the error is logged and the request stays PENDING for the reconciler, which
    enqueues it again under the same job id.
    """
    order.job_runs += 1
    run = order.job_runs
    job_id = job_id_for(order=order, run=run)
    order.queue_job_id = job_id
    order.save(update_fields=["job_runs", "queue_job_id", "updated_at"])
    JobRequest.objects.create(
        order=order, run=run, job_id=job_id, queue=QUEUE_FOR_KIND[Order.Kind(order.kind)], purpose=purpose
    )
    transaction.on_commit(
        lambda: job_put(order_id=str(order.id), kind=order.kind, run=run, job_id=job_id), robust=True
    )
    return job_id


def job_put(*, order_id: str, kind: str, run: int, job_id: str) -> None:
    """Put the job on RQ. Idempotent: a job id already queued, scheduled or running is left alone."""
    queue = django_rq.get_queue(QUEUE_FOR_KIND[Order.Kind(kind)], commit_mode="auto")
    existing = queue.fetch_job(job_id)
    if existing is not None and existing.get_status(refresh=False) in ACTIVE_STATUSES:
        logger.info("job already on the queue", extra={"job_id": job_id})
        return
    JobRequest.objects.filter(job_id=job_id).update(enqueue_count=F("enqueue_count") + 1)
    queue.enqueue(
        JOB_FOR_KIND[Order.Kind(kind)],
        order_id=order_id,
        run=run,
        job_id=job_id,
        retry=Retry(max=RETRY_MAX, interval=settings.RQ_RETRY_INTERVALS),
        job_timeout=settings.RQ_JOB_TIMEOUT_SECONDS,
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        meta={"stage": "queued", "progress": 0, "attempt": 0},
        description=f"{kind} order {order_id} run {run}",
    )
    job_request_mark_enqueued(job_id=job_id)
    logger.info("job enqueued", extra={"order_id": order_id, "job_id": job_id, "run": run})


def order_jobs_cancel(*, order: Order) -> list[str]:
    """Stop the order's work: open job requests CANCELLED now, queued RQ jobs removed after commit.

    The caller holds the order's row lock inside a transaction and has already moved the order
    out of PROCESSING, so a job that still runs (already started, or Redis unreachable when the
    removal runs) finds nothing to do and stores nothing. Returns the job ids cancelled.
    """
    job_ids = [request.job_id for request in job_requests_cancel(order_id=order.id)]
    if order.queue_job_id and order.queue_job_id not in job_ids:
        job_ids.append(order.queue_job_id)
    if job_ids:
        queue_name = QUEUE_FOR_KIND[Order.Kind(order.kind)]
        transaction.on_commit(lambda: jobs_discard(job_ids=job_ids, queue_name=queue_name), robust=True)
    return job_ids


def jobs_discard(*, job_ids: list[str], queue_name: str) -> list[str]:
    """Cancel in RQ the jobs that have not started (queued, scheduled for a retry, deferred).

    Best effort: a started job is left to finish (it checks the order), and Redis being down is
    logged, not raised. Returns the ids taken off the queue.
    """
    discarded: list[str] = []
    try:
        connection = django_rq.get_queue(queue_name).connection
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
