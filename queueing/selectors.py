"""Reads on the job outbox: a subject's requests and attempts, and wait estimates from measured durations."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from uuid import UUID

from django.db.models import CharField, Count, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Queue, Worker

from queueing.connections import rq_queue
from queueing.models import JobAttempt, JobRequest

logger = logging.getLogger(__name__)

# Used only until a queue has finished a job in the last week: the offline writer takes under a
# second, an LLM run typically 10-40 s.
PRIOR_JOB_SECONDS = 30.0
SAMPLE_SIZE = 20
RECENT_JOB_SECONDS_CACHE_SECONDS = 30
WORKERS_COUNT_CACHE_SECONDS = 5
# Per process: queue -> (monotonic time it is kept until, value). A race computes a value twice, no more.
_recent_seconds: dict[str, tuple[float, float]] = {}
_workers: dict[str, tuple[float, int]] = {}


def job_request_open_exists(*, subject_id: UUID | str) -> bool:
    """Whether a run for ``subject_id`` is still owed (pending, enqueued or running)."""
    return JobRequest.objects.open().filter(subject_id=subject_id).exists()


def job_request_purpose_of(*, subject_column: str, run: int) -> RawSQL:
    """Why run ``run`` was asked for (INITIAL when there is no record), as a scalar subquery for another
    query to select; ``subject_column`` is that query's quoted column holding the subject's id.
    Raw SQL: the ORM's ``Subquery(OuterRef…)`` costs about a millisecond of CPU to compile each time."""
    requests = JobRequest._meta.db_table
    sql = (
        f'COALESCE((SELECT r."purpose" FROM "{requests}" r WHERE r."subject_id" = {subject_column} '
        f'AND r."run" = %s LIMIT 1), %s)'
    )
    return RawSQL(sql, (run, JobRequest.Purpose.INITIAL.value), output_field=CharField())


def job_attempts_for(*, subject_id: UUID | str) -> QuerySet[JobAttempt]:
    """Every worker attempt of every run of ``subject_id``, oldest first, with its request."""
    return JobAttempt.objects.filter(request__subject_id=subject_id).select_related("request")


def recent_job_seconds(*, queue: str) -> float:
    """Mean duration of the last finished runs on ``queue`` (this week), or the prior when none.

    Kept in this process for ``RECENT_JOB_SECONDS_CACHE_SECONDS``: every poll of a page whose order
    is being written asks for it, and a mean of the last 20 runs hardly moves in that time. So one
    query per process and queue that often, and no Redis round trip on the polls in between.
    """
    now = time.monotonic()
    kept = _recent_seconds.get(queue)
    if kept is not None and kept[0] > now:
        return kept[1]
    seconds = _recent_job_seconds(queue=queue)
    _recent_seconds[queue] = (now + RECENT_JOB_SECONDS_CACHE_SECONDS, seconds)
    return seconds


def recent_job_seconds_forget() -> None:
    """Drop this process's kept means and worker counts (``recent_job_seconds``, ``workers_count``)."""
    _recent_seconds.clear()
    _workers.clear()


def workers_count(*, queue: Queue) -> int:
    """How many workers listen on ``queue``, kept in this process for ``WORKERS_COUNT_CACHE_SECONDS``
    (workers come and go by the minute, pages poll by the second). Raises RedisError."""
    now = time.monotonic()
    kept = _workers.get(queue.name)
    if kept is not None and kept[0] > now:
        return kept[1]
    count = Worker.count(queue=queue)
    _workers[queue.name] = (now + WORKERS_COUNT_CACHE_SECONDS, count)
    return count


def _recent_job_seconds(*, queue: str) -> float:
    durations = list(
        JobAttempt.objects.filter(
            request__queue=queue,
            outcome__in=("done", "failed"),
            finished_at__isnull=False,
            started_at__gte=timezone.now() - timedelta(days=7),
        )
        .annotate(took=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()))
        .order_by("-finished_at")
        .values_list("took", flat=True)[:SAMPLE_SIZE]
    )
    if not durations:
        return PRIOR_JOB_SECONDS
    return sum(d.total_seconds() for d in durations) / len(durations)


def estimate_wait_seconds(
    *, queue: str, job_id: str | None = None, position: int | None = None, ahead: int | None = None
) -> int:
    """Seconds until ``job_id`` (or a new job) is done: (jobs ahead + 1) x mean duration / workers.

    ``position``: the job's place in the queue when the caller has just read it; ``ahead``: the jobs
    ahead when the caller has just read them (``queueing.progress.job_queue_read``). Either saves
    asking Redis again.
    """
    per_job = recent_job_seconds(queue=queue)
    workers = 1
    try:
        jobs_queue = rq_queue(queue)
        if ahead is None:
            if position is None:
                position = jobs_queue.get_job_position(job_id) if job_id else None
            ahead = position if position is not None else jobs_queue.count
        workers = max(1, workers_count(queue=jobs_queue))
    except RedisError as exc:
        logger.info("queue length unavailable", extra={"queue": queue, "error": str(exc)})
    return max(1, round(((ahead or 0) / workers + 1) * per_job))


# How a job try ended (``JobAttempt.outcome``), as counted by ``attempts_by_queue``: the words
# ``queueing.runtime`` writes for a failure or a wait; any other word is the job's own success outcome
# ("done", "skipped"…), except "failed", which the order jobs return when the order failed its checks.
FAILED_OUTCOMES = frozenset({"error", "rejected", "gave up waiting", "failed"})
WAITING_OUTCOMES = frozenset({"waiting", "held"})


def attempts_by_queue(*, since: timedelta = timedelta(hours=1)) -> dict[str, dict[str, int]]:
    """Job tries that ended in the last ``since``, by queue: ``{queue: {finished, failed, waiting}}``.

    Only jobs with an outbox request record attempts (order runs, "email me my orders"); the periodic
    maintenance jobs show in RQ's registries instead (``queueing.stats``).
    """
    rows = (
        JobAttempt.objects.filter(finished_at__gte=timezone.now() - since)
        .values_list("request__queue", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {}
    for queue, outcome, n in rows:
        bucket = counts.setdefault(queue, {"finished": 0, "failed": 0, "waiting": 0})
        kind = (
            "failed"
            if outcome in FAILED_OUTCOMES
            else "waiting"
            if outcome in WAITING_OUTCOMES
            else "finished"
        )
        bucket[kind] += n
    return counts
