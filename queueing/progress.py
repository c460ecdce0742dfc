"""A job's place and progress as RQ knows it, for views that show work in flight."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from queueing.connections import rq_queue
from queueing.enqueue import RETRY_MAX

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobQueueRead:
    """``view``: the caller's ``fallback`` (``{jobId, state, position, progress, stage, attempts}``)
    updated from RQ; ``ahead``: the jobs before it (its position while queued,
    else the queue's length), None when RQ does not have the job or Redis did not answer."""

    view: dict[str, Any]
    ahead: int | None


def job_queue_read(*, job_id: str, queue: str, fallback: dict[str, Any]) -> JobQueueRead:
    """The job's place and progress as RQ knows it, and the jobs ahead, in one Redis round trip (the
    job's hash, its position and the queue's length, pipelined).

    Redis carries messages, PostgreSQL is the record: when the job has expired from Redis, or
    Redis cannot be reached, the caller's ``fallback`` (derived from its own records) is the view
    instead of failing the request.
    """
    view = dict(fallback)
    try:
        jobs_queue = rq_queue(queue)
        job = Job(job_id, connection=jobs_queue.connection)
        pipe = jobs_queue.connection.pipeline(transaction=False)
        pipe.hgetall(job.key)
        pipe.lpos(jobs_queue.key, job_id)
        pipe.llen(jobs_queue.key)
        data, position, length = pipe.execute()
        if not data:
            raise NoSuchJobError(f"No such job: {job.key!r}")
        job.restore(data)
        status = job.get_status(refresh=False)  # restored from the hash just read: no second round trip
        retrying = (
            job.retries_left is not None and job.retry_intervals is not None and job.retries_left < RETRY_MAX
        )
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            view["state"] = "retrying" if retrying else "queued"
            view["position"] = position if status == JobStatus.QUEUED else None
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
        return JobQueueRead(view, None)
    return JobQueueRead(view, position if position is not None else length)
