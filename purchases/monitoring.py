"""What operations watch: the alert checks the cron process runs, and the stats it logs and prints.

The generic queue and worker checks (``queueing.alerts``) are wired here to this project's
queues, next to the checks only ``purchases`` may make: orders left in PROCESSING, or waiting for
approval, past their deadline. ``manage.py cron`` runs ``alert_checks()`` through ``alerts.services.alerts_check`` and
logs ``system_stats()`` every minute; ``manage.py queue_stats`` prints the same stats.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from alerts.checks import Check, Finding
from purchases.models import OrderStatus
from purchases.selectors import (
    orders_by_status,
    orders_overdue,
    orders_scheduled_overdue,
    overdue_deadline_seconds,
)
from purchases.services.runs import QUEUE_FOR_KIND
from queueing.alerts import failed_jobs_growing_check, job_failure_check, no_worker_check, oldest_job_check
from queueing.selectors import attempts_by_queue
from queueing.stats import queue_names, queue_snapshots, worker_snapshots

logger = logging.getLogger(__name__)

# The periodic jobs of blogorder/cron.py, receipts and "email me my orders" run there: each job
# function that fails is its own incident. The order queues' failures already email staff per
# order (``order_fail``), so there only a growing failed-job registry is an incident.
MAINTENANCE_QUEUE = "maintenance"
ORDER_QUEUES = tuple(sorted(QUEUE_FOR_KIND.values()))
OVERDUE_ORDERS_LISTED = 20


# Each status with a deadline (``OVERDUE_DEADLINE_SETTINGS``): its incident key, how its title names
# the orders, and the detail giving when the oldest entered it.
OVERDUE_INCIDENTS: dict[str, tuple[str, str, str]] = {
    OrderStatus.PROCESSING: ("orders-overdue", "in PROCESSING", "oldest_in_processing_since"),
    OrderStatus.AWAITING_APPROVAL: (
        "orders-approval-overdue",
        "waiting for approval (AWAITING_APPROVAL)",
        "oldest_awaiting_approval_since",
    ),
}


def orders_overdue_check(status: str = OrderStatus.PROCESSING) -> Check:
    """Orders still in ``status`` past its deadline (``ORDER_PROCESSING_DEADLINE_SECONDS``,
    ``ORDER_APPROVAL_DEADLINE_SECONDS``) after they entered it: one incident per status while any
    is (``orders-overdue``, ``orders-approval-overdue``), listing the oldest."""
    key, where, oldest_key = OVERDUE_INCIDENTS[status]

    def find(now: datetime) -> list[Finding]:
        deadline = overdue_deadline_seconds(status)
        overdue = orders_overdue(status=status, now=now, deadline_seconds=deadline)
        if not overdue:
            return []
        oldest = overdue[0][1]
        return [
            Finding(
                key=key,
                title=f"Orders {where} past their deadline ({deadline / 60:g} min)",
                details={
                    "orders_overdue": len(overdue),
                    oldest_key: oldest.astimezone(UTC).isoformat(),
                    "order_ids": [str(order_id) for order_id, _ in overdue[:OVERDUE_ORDERS_LISTED]],
                },
            )
        ]

    return Check(name=key, prefix=key, find=find)


def scheduled_publish_overdue_check() -> Check:
    """Scheduled orders still unpublished ``SCHEDULE_OVERDUE_ALERT_SECONDS`` after their time: the
    cron or the maintenance worker is not running. One incident (``scheduled-publish-overdue``)."""

    def find(now: datetime) -> list[Finding]:
        grace = settings.SCHEDULE_OVERDUE_ALERT_SECONDS
        overdue = orders_scheduled_overdue(now=now, grace_seconds=grace)
        if not overdue:
            return []
        return [
            Finding(
                key="scheduled-publish-overdue",
                title=f"Scheduled publishes not done {grace / 60:g} min after their time",
                details={
                    "orders_overdue": len(overdue),
                    "oldest_due_at": overdue[0][1].astimezone(UTC).isoformat(),
                    "order_ids": [str(order_id) for order_id, _ in overdue[:OVERDUE_ORDERS_LISTED]],
                },
            )
        ]

    return Check(name="scheduled-publish-overdue", prefix="scheduled-publish-overdue", find=find)


def alert_checks() -> list[Check]:
    """Every condition staff are told about (README "Alerts")."""
    queues = queue_names()
    return [
        no_worker_check(queues),
        oldest_job_check(queues),
        failed_jobs_growing_check(ORDER_QUEUES),
        job_failure_check(MAINTENANCE_QUEUE),
        *(orders_overdue_check(status) for status in OVERDUE_INCIDENTS),
        scheduled_publish_overdue_check(),
    ]


def system_stats(*, now: datetime | None = None) -> dict[str, Any]:
    """Queues, workers, orders by status and the last hour's job tries by queue, JSON-able.

    Raises ``redis.exceptions.RedisError`` when Redis cannot be read.
    """
    now = now or datetime.now(UTC)
    attempts = attempts_by_queue(since=timedelta(hours=1))
    names = queue_names()
    empty = {"finished": 0, "failed": 0, "waiting": 0}
    return {
        "at": now.isoformat(),
        "queues": [snapshot.as_dict() for snapshot in queue_snapshots(names, now=now)],
        "workers": [worker.as_dict() for worker in worker_snapshots(now=now)],
        "orders_by_status": orders_by_status(),
        "last_hour": {name: attempts.get(name, dict(empty)) for name in names},
    }


def system_stats_log() -> None:
    """One log line with every figure of ``system_stats`` in its ``extra`` fields (the cron process, every minute)."""
    logger.info("queue stats", extra=system_stats())
