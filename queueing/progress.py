"""A job's place and progress as RQ knows it, for views that show work in flight."""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from queueing.connections import rq_queue
from queueing.enqueue import RETRY_MAX

logger = logging.getLogger(__name__)


def job_queue_view(*, job_id: str, queue: str, fallback: dict[str, Any]) -> dict[str, Any]:
    """``fallback`` (``{jobId, state, position, progress, stage, attempts}``) updated from RQ.

    Redis carries messages, PostgreSQL is the record: when the job has expired from Redis, or
    Redis cannot be reached, the caller's ``fallback`` (derived from its own records) is returned
    instead of failing the request.
    """
    view = dict(fallback)
    try:
        jobs_queue = rq_queue(queue)
        job = Job.fetch(job_id, connection=jobs_queue.connection)
        status = job.get_status(refresh=False)  # fetch just read the whole hash: no second round trip
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
        logger.info("queue state unavailable", extra={"job_id": job_id, "error": str(exc)})
    return view
