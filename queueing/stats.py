"""What the queues look like right now, read from Redis: depth, oldest job, live workers, registries.

One read for everything operations asks of RQ (``/readyz``, ``/metrics``, ``manage.py
queue_stats``, the alert checks), so they agree on what "a live worker" or "the oldest job" is.
Reads only; a Redis outage raises ``RedisError`` to the caller, which decides what that means.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from rq.job import Job
from rq.queue import Queue
from rq.registry import BaseRegistry
from rq.worker import BaseWorker

# An idle RQ worker beats every ``worker_ttl - 15`` seconds (blocked in its dequeue), a busy one
# every ``job_monitoring_interval`` (30 s). Workers here run with ``--worker-ttl 60`` (a beat at
# least every 45 s), so one whose last beat is older than WORKER_HEARTBEAT_MAX_AGE_SECONDS (75 by
# default) is not counted as alive, though RQ keeps its key until ``worker_ttl + 60`` has passed.
from queueing.connections import rq_connection, rq_queue


def queue_names() -> list[str]:
    """Every queue the project defines (settings.RQ_QUEUES), in a stable order."""
    return sorted(settings.RQ_QUEUES)


@dataclass(frozen=True)
class QueueSnapshot:
    """One queue at one moment."""

    name: str
    depth: int  # jobs waiting to start
    oldest_job_age_seconds: float | None  # how long the job at the head has waited; None when empty
    workers: int  # workers registered for this queue (RQ expires dead workers' keys)
    workers_alive: int  # of those, with a heartbeat within WORKER_HEARTBEAT_MAX_AGE_SECONDS
    busy_workers: int
    started: int  # started-job registry (running, or abandoned until RQ cleans it)
    failed: int  # failed-job registry
    scheduled: int  # waiting for a retry or a time
    deferred: int  # waiting on another job
    finished: int  # finished and still kept

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _job_age_seconds(job: Job | None, now: datetime) -> float | None:
    if job is None or job.enqueued_at is None:
        return None
    enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
    return max(0.0, (now - enqueued).total_seconds())


def worker_is_alive(worker: BaseWorker, *, now: datetime) -> bool:
    """Whether ``worker`` sent a heartbeat within ``WORKER_HEARTBEAT_MAX_AGE_SECONDS``."""
    beat = worker.last_heartbeat
    if beat is None:
        return False
    beat = beat if beat.tzinfo else beat.replace(tzinfo=UTC)
    return (now - beat).total_seconds() <= settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS


def workers_for(queue: Queue) -> list[BaseWorker]:
    return list(BaseWorker.all(queue=queue))


def queue_snapshot(name: str, *, now: datetime | None = None) -> QueueSnapshot:
    """``name``'s state now. Raises ``redis.exceptions.RedisError`` when Redis cannot be read."""
    now = now or datetime.now(UTC)
    queue = rq_queue(name)
    head_ids = queue.get_job_ids(0, 1)
    head = Job.fetch(head_ids[0], connection=queue.connection) if head_ids else None
    workers = workers_for(queue)
    alive = [w for w in workers if worker_is_alive(w, now=now)]
    return QueueSnapshot(
        name=name,
        depth=queue.count,
        oldest_job_age_seconds=_job_age_seconds(head, now),
        workers=len(workers),
        workers_alive=len(alive),
        busy_workers=sum(1 for w in alive if w.get_state() == "busy"),
        started=queue.started_job_registry.count,
        failed=queue.failed_job_registry.count,
        scheduled=queue.scheduled_job_registry.count,
        deferred=queue.deferred_job_registry.count,
        finished=queue.finished_job_registry.count,
    )


def queue_snapshots(
    names: Iterable[str] | None = None, *, now: datetime | None = None
) -> list[QueueSnapshot]:
    """Every queue's snapshot (all of ``settings.RQ_QUEUES`` unless ``names``)."""
    now = now or datetime.now(UTC)
    return [queue_snapshot(name, now=now) for name in (names if names is not None else queue_names())]


def live_workers_of_host(
    *, hostname: str, name: str | None = None, now: datetime | None = None
) -> list[BaseWorker]:
    """Live workers (heartbeat within WORKER_HEARTBEAT_MAX_AGE_SECONDS) started on ``hostname``, or named ``name``.

    Raises ``redis.exceptions.RedisError`` when Redis cannot be read.
    """
    now = now or datetime.now(UTC)
    connection = rq_connection(queue_names()[0])
    workers = BaseWorker.all(connection=connection)
    chosen = [w for w in workers if (w.name == name if name else w.hostname == hostname)]
    return [w for w in chosen if worker_is_alive(w, now=now)]


@dataclass(frozen=True)
class WorkerSnapshot:
    """One registered worker at one moment."""

    name: str
    queues: list[str]
    state: str  # RQ's: idle, busy, suspended, started…
    alive: bool  # heartbeat within WORKER_HEARTBEAT_MAX_AGE_SECONDS
    last_heartbeat: str | None  # ISO 8601, UTC
    current_job: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worker_snapshots(*, now: datetime | None = None) -> list[WorkerSnapshot]:
    """Every worker registered on the project's queues, by name. Raises ``RedisError`` like the rest."""
    now = now or datetime.now(UTC)
    seen: dict[str, WorkerSnapshot] = {}
    for name in queue_names():
        for worker in workers_for(rq_queue(name)):
            if worker.name in seen:
                continue
            beat = worker.last_heartbeat
            seen[worker.name] = WorkerSnapshot(
                name=worker.name,
                queues=worker.queue_names(),
                state=str(worker.get_state()),
                alive=worker_is_alive(worker, now=now),
                last_heartbeat=(beat if beat.tzinfo else beat.replace(tzinfo=UTC)).isoformat()
                if beat
                else None,
                current_job=worker.get_current_job_id(),
            )
    return sorted(seen.values(), key=lambda w: w.name)


def _registry_jobs(queue: Queue, registry: BaseRegistry) -> list[Job]:
    """The jobs ``registry`` of ``queue`` lists, those RQ still has."""
    ids = registry.get_job_ids()
    return [job for job in Job.fetch_many(ids, connection=queue.connection) if job is not None]


def failed_jobs(name: str) -> list[Job]:
    """The jobs in queue ``name``'s failed-job registry (those RQ still has)."""
    queue = rq_queue(name)
    return _registry_jobs(queue, queue.failed_job_registry)


def finished_jobs(name: str) -> list[Job]:
    """The jobs in queue ``name``'s finished-job registry (kept for their ``result_ttl``)."""
    queue = rq_queue(name)
    return _registry_jobs(queue, queue.finished_job_registry)
