"""Job progress in ``job.meta`` and the queue view the status endpoint shows customers."""

from __future__ import annotations

import logging
from typing import Any

import django_rq
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.job import get_current_job as rq_current_job

from purchases.models import Order
from queueing.enqueue import QUEUE_FOR_KIND, RETRY_MAX

logger = logging.getLogger(__name__)


def report_progress(stage: str, percent: int, attempt: int) -> None:
    """Store stage/progress on the running RQ job (no-op outside a worker)."""
    job = rq_current_job()
    if job is None:
        return
    job.meta.update({"stage": stage, "progress": percent, "attempt": attempt})
    job.save_meta()


def _state_from_order(order: Order) -> str:
    if order.has_failed:
        return "failed"
    if order.in_progress:
        return "queued"
    return "finished"


def order_queue_state(order: Order) -> dict[str, Any]:
    """``{jobId, state, position, progress, stage, attempts}`` for the order's current job.

    Redis carries messages, PostgreSQL is the record: when the job has expired from Redis, or
    Redis cannot be reached, the state is derived from the order instead of failing the request.
    """
    view: dict[str, Any] = {
        "jobId": order.queue_job_id or None,
        "state": _state_from_order(order) if order.queue_job_id else None,
        "position": None,
        "progress": 100 if order.queue_job_id and not order.in_progress else 0,
        "stage": None,
        "attempts": 0,
    }
    if not order.queue_job_id:
        return view
    try:
        queue = django_rq.get_queue(QUEUE_FOR_KIND[Order.Kind(order.kind)])
        job = Job.fetch(order.queue_job_id, connection=queue.connection)
        status = job.get_status()
        retrying = (
            job.retries_left is not None and job.retry_intervals is not None and job.retries_left < RETRY_MAX
        )
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            view["state"] = "retrying" if retrying else "queued"
            view["position"] = job.get_position() if status == JobStatus.QUEUED else None
        elif status == JobStatus.STARTED:
            view["state"] = "started"
        elif status == JobStatus.FINISHED:
            view["state"] = "finished"
        elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            view["state"] = "failed"
        view["progress"] = int(job.meta.get("progress", view["progress"]))
        view["stage"] = job.meta.get("stage")
        view["attempts"] = int(job.meta.get("attempt", 0))
    except (RedisError, NoSuchJobError) as exc:  # job expired from Redis, or Redis down: keep the DB view
        logger.info("queue state unavailable", extra={"job_id": order.queue_job_id, "error": str(exc)})
    return view
