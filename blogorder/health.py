"""Readiness: can this deployment take orders and get them done right now?

``readiness()`` checks the database (a query), that no migration is left unapplied, Redis (a
ping, through the queue connection) and that every queue in ``RQ_QUEUES`` has a worker whose
heartbeat is within ``WORKER_HEARTBEAT_MAX_AGE_SECONDS``. Its answer names what failed by check
and error class only: no URL, host or message that could carry a password.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from redis.exceptions import RedisError

from queueing.stats import queue_names, queue_snapshots

logger = logging.getLogger(__name__)

# Set once every migration is applied: a deploy only ever adds migrations with a restart, so a
# process that has seen "all applied" need not ask again (the plan is a few queries otherwise).
_migrations_applied = False


@dataclass
class Readiness:
    checks: dict[str, Any] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": self.checks, "failed": self.failed}


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError as exc:
        logger.warning("readiness: database unreachable", extra={"error": type(exc).__name__})
        return False


def migrations_applied() -> bool:
    """Whether the migration plan to every app's latest migration is empty (cached once true)."""
    global _migrations_applied
    if _migrations_applied:
        return True
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    _migrations_applied = True
    return True


def readiness() -> Readiness:
    result = Readiness()
    database = _database_ok()
    result.checks["database"] = "ok" if database else "unreachable"
    if not database:
        result.failed.append("database")
        result.checks["migrations"] = "unknown"
    else:
        try:
            applied = migrations_applied()
        except DatabaseError:
            applied = False
        result.checks["migrations"] = "ok" if applied else "unapplied"
        if not applied:
            result.failed.append("migrations")
    try:
        snapshots = queue_snapshots()
    except RedisError as exc:
        logger.warning("readiness: Redis unreachable", extra={"error": type(exc).__name__})
        result.checks["redis"] = "unreachable"
        result.checks["workers"] = dict.fromkeys(queue_names())
        result.failed.append("redis")
        return result
    result.checks["redis"] = "ok"
    result.checks["workers"] = {s.name: s.workers_alive for s in snapshots}
    result.failed.extend(f"workers:{s.name}" for s in snapshots if s.workers_alive < 1)
    return result
