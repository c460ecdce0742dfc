"""queueing.stats against a real Redis: depth, the oldest job's age, live workers, registries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import django_rq
from rq import SimpleWorker

from queueing.stats import queue_snapshot, queue_snapshots


def test_a_queue_reports_its_depth_and_the_age_of_the_job_at_its_head(settings: Any) -> None:
    queue = django_rq.get_queue("maintenance")
    queue.enqueue("builtins.print", "first")
    queue.enqueue("builtins.print", "second")

    later = datetime.now(UTC) + timedelta(seconds=90)
    snapshot = queue_snapshot("maintenance", now=later)

    assert snapshot.depth == 2
    assert snapshot.oldest_job_age_seconds is not None and 89 <= snapshot.oldest_job_age_seconds <= 100
    empty = queue_snapshot("article-generation")
    assert empty.depth == 0 and empty.oldest_job_age_seconds is None
    assert [s.name for s in queue_snapshots()] == sorted(settings.RQ_QUEUES)


def test_a_worker_counts_as_alive_only_while_its_heartbeat_is_fresh(settings: Any) -> None:
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 75
    queue = django_rq.get_queue("backlink-integration")
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.register_birth()
    try:
        worker.heartbeat()
        now = datetime.now(UTC)
        assert queue_snapshot("backlink-integration", now=now).workers_alive == 1
        assert queue_snapshot("backlink-integration", now=now + timedelta(seconds=80)).workers_alive == 0
        assert queue_snapshot("backlink-integration", now=now + timedelta(seconds=80)).workers == 1
        assert queue_snapshot("maintenance", now=now).workers == 0  # registered for one queue only
    finally:
        worker.register_death()


def test_a_failed_job_is_counted_in_its_queues_failed_registry() -> None:
    queue = django_rq.get_queue("maintenance")
    queue.enqueue("builtins.int", "not a number")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)

    snapshot = queue_snapshot("maintenance")
    assert snapshot.failed == 1 and snapshot.depth == 0
