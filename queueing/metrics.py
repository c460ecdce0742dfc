"""Prometheus metrics of the queues and jobs, derived at scrape time from Redis and PostgreSQL.

Nothing is counted in a process's memory: every value is read when ``/metrics`` is scraped (queue
state from Redis through ``queueing.stats``, job counts and durations from the ``JobRequest`` and
``JobAttempt`` rows), so every web process answers the same and restarts lose nothing. Queries are
aggregates only; the duration histogram covers the attempts finished in the last
``WINDOW`` and is a gauge histogram (read it without ``rate()``).

RQ's own registry counts (``rq_jobs{queue,status}``: queued = the queue's depth, started, failed,
scheduled, deferred, finished) come from django-rq's ``RQCollector``, wrapped here so a Redis outage
gives ``blogorder_redis_up 0`` instead of a failed scrape; the names below never repeat them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from queueing.models import JobAttempt
from queueing.stats import queue_snapshots

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
# Attempt outcomes (queueing.runtime's words and the job's own return value): the job did its work,
# or it failed. "waiting" and "held" (scheduled again while a service is down) and "skipped" (the
# run was over: nothing to do) are neither.
FINISHED_OUTCOMES = frozenset({"done"})
FAILED_OUTCOMES = frozenset({"failed", "error", "rejected", "gave up waiting"})
JOB_DURATION_BUCKETS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 900)


def bucket_counts(row: Mapping[str, Any], buckets: Sequence[float]) -> list[tuple[str, float]]:
    """``(le, cumulative count)`` pairs of a histogram from a row's ``le_<i>`` counts and its total ``n``."""
    pairs = [(_le(bound), float(row.get(f"le_{i}", 0) or 0)) for i, bound in enumerate(buckets)]
    return [*pairs, ("+Inf", float(row.get("n", 0) or 0))]


def seconds_of(total: timedelta | float | None) -> float:
    """A summed duration in seconds (PostgreSQL gives a timedelta, SQLite microseconds)."""
    if isinstance(total, timedelta):
        return total.total_seconds()
    return float(total or 0) / 1e6


def _le(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def duration_bucket_aggregates(field: str, buckets: Sequence[float]) -> dict[str, Any]:
    """``Count`` expressions (one per bucket, cumulative) over the duration annotation ``field``."""
    return {
        f"le_{i}": Count("pk", filter=Q(**{f"{field}__lte": timedelta(seconds=bound)}))
        for i, bound in enumerate(buckets)
    }


class QueueCollector(Collector):
    """Per queue: oldest job's age, live workers, busy workers; and whether Redis answered."""

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("blogorder_redis_up", "1 when Redis answered this scrape, else 0")
        try:
            snapshots = queue_snapshots()
        except RedisError as exc:
            logger.warning("metrics: Redis unreachable", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        oldest = GaugeMetricFamily(
            "blogorder_queue_oldest_job_age_seconds",
            "How long the job at the head of the queue has waited (0 when the queue is empty)",
            labels=["queue"],
        )
        alive = GaugeMetricFamily(
            "blogorder_queue_workers_alive",
            "Workers on the queue whose last heartbeat is within WORKER_HEARTBEAT_MAX_AGE_SECONDS",
            labels=["queue"],
        )
        busy = GaugeMetricFamily(
            "blogorder_queue_workers_busy", "Live workers on the queue running a job", labels=["queue"]
        )
        for snapshot in snapshots:
            oldest.add_metric([snapshot.name], snapshot.oldest_job_age_seconds or 0.0)
            alive.add_metric([snapshot.name], snapshot.workers_alive)
            busy.add_metric([snapshot.name], snapshot.busy_workers)
        threshold = GaugeMetricFamily(
            "blogorder_queue_oldest_job_alert_threshold_seconds",
            "QUEUE_OLDEST_JOB_ALERT_SECONDS: the oldest-job alert fires above it",
        )
        threshold.add_metric([], settings.QUEUE_OLDEST_JOB_ALERT_SECONDS)
        yield from (oldest, alive, busy, threshold)


class JobCollector(Collector):
    """Job attempts (``JobAttempt``) by kind and outcome, finished and failed, and their durations.

    A kind is the request's queue and purpose (initial, regeneration, rebase, retry). Attempts, not
    requests: a run that fails its order is closed as cancelled, not failed, so only the attempt
    says how it ended.
    """

    def collect(self) -> Iterator[Any]:
        attempts = CounterMetricFamily(
            "blogorder_job_attempts",
            "Job attempts finished, by queue, purpose and the outcome recorded (done, failed, error, waiting…)",
            labels=["queue", "purpose", "outcome"],
        )
        finished = CounterMetricFamily(
            "blogorder_jobs_finished",
            "Job attempts that did their work, by queue and purpose",
            labels=["queue", "purpose"],
        )
        failed = CounterMetricFamily(
            "blogorder_jobs_failed",
            "Job attempts that failed (an error, a refusal, given up, or the work failed), by queue and purpose",
            labels=["queue", "purpose"],
        )
        rows = (
            JobAttempt.objects.filter(finished_at__isnull=False)
            .values("request__queue", "request__purpose", "outcome")
            .annotate(n=Count("pk"))
            .order_by("request__queue", "request__purpose", "outcome")
        )
        totals: dict[tuple[str, str], dict[str, int]] = {}
        for row in rows:
            kind = (row["request__queue"], row["request__purpose"])
            attempts.add_metric([*kind, row["outcome"] or "none"], row["n"])
            counts = totals.setdefault(kind, {"finished": 0, "failed": 0})
            if row["outcome"] in FINISHED_OUTCOMES:
                counts["finished"] += row["n"]
            elif row["outcome"] in FAILED_OUTCOMES:
                counts["failed"] += row["n"]
        for kind, counts in totals.items():
            finished.add_metric(list(kind), counts["finished"])
            failed.add_metric(list(kind), counts["failed"])
        yield attempts
        yield finished
        yield failed
        yield self._durations()

    def _durations(self) -> GaugeHistogramMetricFamily:
        family = GaugeHistogramMetricFamily(
            "blogorder_job_duration_seconds",
            f"Attempts finished in the last {int(WINDOW.total_seconds() // 3600)} h, by how long they ran,"
            " by queue and purpose",
            labels=["queue", "purpose"],
        )
        since = datetime.now(UTC) - WINDOW
        rows = (
            JobAttempt.objects.filter(finished_at__isnull=False, finished_at__gte=since)
            .annotate(
                duration=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
            )
            .values("request__queue", "request__purpose")
            .annotate(
                n=Count("pk"),
                total=Sum("duration"),
                **duration_bucket_aggregates("duration", JOB_DURATION_BUCKETS),
            )
            .order_by("request__queue", "request__purpose")
        )
        for row in rows:
            family.add_metric(
                [row["request__queue"], row["request__purpose"]],
                bucket_counts(row, JOB_DURATION_BUCKETS),
                gsum_value=seconds_of(row["total"]),
            )
        return family


class RQRegistryCollector(Collector):
    """django-rq's ``RQCollector`` (``rq_jobs``, ``rq_workers``, per-worker job counts), silent while Redis is down."""

    def __init__(self) -> None:
        from django_rq.contrib.prometheus import RQCollector

        self._inner = RQCollector()

    def collect(self) -> Iterator[Any]:
        try:
            families = list(self._inner.collect())
        except RedisError:
            return  # QueueCollector reports blogorder_redis_up 0
        yield from families
