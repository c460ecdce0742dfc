"""/healthz and /readyz on the real stack: PostgreSQL, Redis, and RQ worker heartbeats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django_rq
import pytest
from django.test import Client
from rq import SimpleWorker

from blogorder import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_worker() -> Iterator[SimpleWorker]:
    """A real worker registered on every queue, with a fresh heartbeat (as `rqworker` keeps one)."""
    queues = [
        django_rq.get_queue(name) for name in ("article-generation", "backlink-integration", "maintenance")
    ]
    worker = SimpleWorker(queues, connection=queues[0].connection)
    worker.register_birth()
    worker.heartbeat()
    yield worker
    worker.register_death()


def test_healthz_answers_while_the_process_runs(client: Client) -> None:
    assert client.get("/healthz").json() == {"ok": True}


def test_readyz_is_503_and_names_each_queue_without_a_live_worker(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "redis": "ok",
        "workers": {"article-generation": 0, "backlink-integration": 0, "maintenance": 0},
    }
    assert body["failed"] == [
        "workers:article-generation",
        "workers:backlink-integration",
        "workers:maintenance",
    ]


def test_readyz_is_200_with_a_live_worker_on_every_queue(client: Client, live_worker: SimpleWorker) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "ready": True,
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "redis": "ok",
            "workers": {"article-generation": 1, "backlink-integration": 1, "maintenance": 1},
        },
        "failed": [],
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_worker_whose_heartbeat_is_stale_does_not_make_the_queue_ready(
    client: Client, live_worker: SimpleWorker, settings: Any
) -> None:
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 0
    live_worker.connection.hset(live_worker.key, "last_heartbeat", "2020-01-01T00:00:00.000000Z")

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["maintenance"] == 0


def test_a_worker_on_one_queue_leaves_the_others_not_ready(client: Client) -> None:
    queue = django_rq.get_queue("maintenance")
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.register_birth()
    worker.heartbeat()
    try:
        body = client.get("/readyz").json()
    finally:
        worker.register_death()

    assert body["checks"]["workers"] == {"article-generation": 0, "backlink-integration": 0, "maintenance": 1}
    assert body["failed"] == ["workers:article-generation", "workers:backlink-integration"]


def test_readyz_is_503_when_redis_is_unreachable_and_shows_no_url_or_password(
    client: Client, live_worker: SimpleWorker, settings: Any
) -> None:
    settings.RQ_QUEUES = {
        name: {**config, "URL": "redis://:hunter2secret@127.0.0.1:1/15"}
        for name, config in settings.RQ_QUEUES.items()
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"] == "unreachable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["workers"] == {
        "article-generation": None,
        "backlink-integration": None,
        "maintenance": None,
    }
    assert body["failed"] == ["redis"]
    assert b"hunter2secret" not in response.content and b"redis://" not in response.content


@pytest.mark.postgres  # SQLite cannot alter its schema inside the test's transaction
def test_an_unapplied_migration_makes_readyz_503(
    client: Client, live_worker: SimpleWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Roll the last queueing migration back for real, then forward again."""
    from django.core.management import call_command

    monkeypatch.setattr(health, "_migrations_applied", False)
    call_command("migrate", "queueing", "0002", verbosity=0)
    try:
        response = client.get("/readyz")
    finally:
        call_command("migrate", "queueing", verbosity=0)

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "unapplied"
    assert response.json()["failed"] == ["migrations"]
    assert client.get("/readyz").status_code == 200
