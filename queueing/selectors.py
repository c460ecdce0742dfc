"""Reads on the job outbox: wait estimates from measured durations."""

from __future__ import annotations

import logging
from datetime import timedelta

import django_rq
from django.db.models import DurationField, ExpressionWrapper, F
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Worker

from queueing.models import JobAttempt

logger = logging.getLogger(__name__)

# Used only until a queue has finished a job in the last week: the offline writer takes under a
# second, an LLM run typically 10-40 s.
PRIOR_JOB_SECONDS = 30.0
SAMPLE_SIZE = 20


def recent_job_seconds(*, queue: str) -> float:
    """Mean duration of the last finished runs on ``queue`` (this week), or the prior when none."""
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


def estimate_wait_seconds(*, queue: str, job_id: str | None = None) -> int:
    """Seconds until ``job_id`` (or a new job) is done: (jobs ahead + 1) x mean duration / workers."""
    per_job = recent_job_seconds(queue=queue)
    ahead, workers = 0, 1
    try:
        rq_queue = django_rq.get_queue(queue)
        position = rq_queue.get_job_position(job_id) if job_id else None
        ahead = position if position is not None else rq_queue.count
        workers = max(1, Worker.count(queue=rq_queue))
    except RedisError as exc:
        logger.info("queue length unavailable", extra={"queue": queue, "error": str(exc)})
    return max(1, round((ahead / workers + 1) * per_job))
