"""manage.py worker_alive: the worker container's health check, against a real Redis."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import django_rq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rq import SimpleWorker


@pytest.fixture
def worker() -> Iterator[SimpleWorker]:
    queue = django_rq.get_queue("maintenance")
    worker = SimpleWorker([queue], connection=queue.connection, name="maint-1")
    worker.register_birth()
    worker.heartbeat()
    yield worker
    worker.register_death()


def test_a_live_worker_on_this_host_passes(worker: SimpleWorker, capsys: Any) -> None:
    call_command("worker_alive")
    assert "maint-1" in capsys.readouterr().out
    call_command("worker_alive", "--name", "maint-1", "--queue", "maintenance")


def test_no_worker_on_this_host_fails() -> None:
    with pytest.raises(CommandError, match=f"no live worker on {socket.gethostname()}"):
        call_command("worker_alive")


def test_a_worker_of_another_host_or_name_does_not_count(worker: SimpleWorker) -> None:
    with pytest.raises(CommandError):
        call_command("worker_alive", "--hostname", "some-other-container")
    with pytest.raises(CommandError):
        call_command("worker_alive", "--name", "maint-2")


def test_a_stale_heartbeat_fails(worker: SimpleWorker, settings: Any) -> None:
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 0
    worker.connection.hset(worker.key, "last_heartbeat", "2020-01-01T00:00:00.000000Z")
    with pytest.raises(CommandError):
        call_command("worker_alive")


def test_a_queue_the_worker_does_not_listen_on_fails(worker: SimpleWorker) -> None:
    with pytest.raises(CommandError, match="listens on backlink-integration"):
        call_command("worker_alive", "--queue", "backlink-integration")


def test_redis_unreachable_fails_without_showing_the_url(settings: Any) -> None:
    settings.RQ_QUEUES = {
        name: {**config, "URL": "redis://:hunter2secret@127.0.0.1:1/15"}
        for name, config in settings.RQ_QUEUES.items()
    }
    with pytest.raises(CommandError) as failure:
        call_command("worker_alive")
    assert "hunter2secret" not in str(failure.value) and "unreachable" in str(failure.value)
