"""Alert checks on queues and workers, read through ``queueing.stats`` (for ``alerts.services.alerts_check``).

Generic: each check is given the queue names it watches; the app that owns the queues wires them
(``purchases.monitoring.ALERT_CHECKS``). Keys: ``no-worker:<queue>``, ``oldest-job:<queue>``,
``failed-jobs-growing:<queue>``, ``job-failed:<queue>:<job function>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from rq.job import Job

from alerts.checks import Check, Finding
from alerts.selectors import incident_last_resolved_at, incident_open
from queueing.connections import rq_connection
from queueing.stats import failed_jobs, finished_jobs, queue_snapshots


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def no_worker_check(queues: Sequence[str]) -> Check:
    """A queue with no worker whose heartbeat is fresh, for ``NO_WORKER_ALERT_SECONDS`` in a row.

    Reads Redis only, so the cron process notices it with every worker gone.
    """

    def find(now: datetime) -> list[Finding]:
        hold = settings.NO_WORKER_ALERT_SECONDS
        return [
            Finding(
                key=f"no-worker:{snapshot.name}",
                title=f"No live worker on queue {snapshot.name} for {_minutes(hold)}",
                details={
                    "queue": snapshot.name,
                    "jobs_waiting": snapshot.depth,
                    "workers_registered": snapshot.workers,
                    "workers_alive": snapshot.workers_alive,
                },
                hold_seconds=hold,
            )
            for snapshot in queue_snapshots(queues, now=now)
            if snapshot.workers_alive == 0
        ]

    return Check(name="no-worker", prefix="no-worker:", find=find)


def oldest_job_check(queues: Sequence[str]) -> Check:
    """A queue whose job at the head has waited longer than ``QUEUE_OLDEST_JOB_ALERT_SECONDS``."""

    def find(now: datetime) -> list[Finding]:
        limit = settings.QUEUE_OLDEST_JOB_ALERT_SECONDS
        return [
            Finding(
                key=f"oldest-job:{snapshot.name}",
                title=f"Queue {snapshot.name}: the oldest job has waited over {_minutes(limit)}",
                details={
                    "queue": snapshot.name,
                    "oldest_job_age_seconds": round(snapshot.oldest_job_age_seconds),
                    "jobs_waiting": snapshot.depth,
                    "workers_alive": snapshot.workers_alive,
                    "busy_workers": snapshot.busy_workers,
                },
            )
            for snapshot in queue_snapshots(queues, now=now)
            if snapshot.oldest_job_age_seconds is not None and snapshot.oldest_job_age_seconds > limit
        ]

    return Check(name="oldest-job", prefix="oldest-job:", find=find)


def _failed_count_key(queue: str) -> str:
    return f"blogorder:alerts:failed-count:{queue}"


def failed_jobs_growing_check(queues: Sequence[str]) -> Check:
    """A queue's failed-job registry holding more jobs than at the last check.

    The count of the last check is kept in Redis. The incident keeps the count it started from
    (``failed_before``) and stays open while the registry holds more than that; it clears when
    staff have dealt with the new failures (requeued or deleted in the RQ dashboard) or RQ let
    them expire.
    """

    def find(now: datetime) -> list[Finding]:
        findings = []
        for snapshot in queue_snapshots(queues, now=now):
            key = f"failed-jobs-growing:{snapshot.name}"
            connection = rq_connection(snapshot.name)
            raw = connection.getset(_failed_count_key(snapshot.name), snapshot.failed)
            last_check = int(raw) if raw is not None else None
            incident = incident_open(key=key)
            before = incident.details.get("failed_before") if incident is not None else last_check
            if before is None or snapshot.failed <= int(before):
                continue
            findings.append(
                Finding(
                    key=key,
                    title=f"Failed jobs are piling up on queue {snapshot.name}",
                    details={
                        "queue": snapshot.name,
                        "failed_before": int(before),
                        "failed_now": snapshot.failed,
                        "new_failures": snapshot.failed - int(before),
                    },
                )
            )
        return findings

    return Check(name="failed-jobs-growing", prefix="failed-jobs-growing:", find=find)


def _ended(job: Job, now: datetime) -> datetime:
    when = job.ended_at or job.enqueued_at or now
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def job_failure_check(queue: str) -> Check:
    """A job on ``queue`` that failed for good (in its failed-job registry), one incident per job function.

    It clears when a later run of the same function finished (seen in the finished-job registry,
    which keeps a job ``result_ttl``, 500 s by default), or when no failed job of it is left (staff
    requeued or deleted them). A failure older than the last time the incident cleared is not news.
    """
    prefix = f"job-failed:{queue}:"

    def find(now: datetime) -> list[Finding]:
        succeeded: dict[str, datetime] = {}
        for job in finished_jobs(queue):
            name = job.func_name or "?"
            succeeded[name] = max(succeeded.get(name, _ended(job, now)), _ended(job, now))
        failures: dict[str, list[Job]] = {}
        for job in failed_jobs(queue):
            failures.setdefault(job.func_name or "?", []).append(job)
        findings = []
        for func, jobs in sorted(failures.items()):
            latest = max(jobs, key=lambda job: _ended(job, now))
            failed_at = _ended(latest, now)
            key = f"{prefix}{func}"[:200]
            cleared = incident_last_resolved_at(key=key)
            if (func in succeeded and succeeded[func] >= failed_at) or (cleared and failed_at <= cleared):
                continue
            details: dict[str, Any] = {
                "queue": queue,
                "job": func,
                "job_id": latest.id,
                "failed_at": failed_at.isoformat(),
                "error": _last_line(latest.exc_info),
                "failed_jobs_of_this_function": len(jobs),
            }
            findings.append(
                Finding(
                    key=key, title=f"Job {func.rsplit('.', 1)[-1]} failed on queue {queue}", details=details
                )
            )
        return findings

    return Check(name=f"job-failed:{queue}", prefix=prefix, find=find)
