"""RQ's cron scheduler, as django-rq runs it (``rqcron``), that also runs tasks in its own process.

A periodic job only runs when a worker takes it, so a check that must work with every worker gone
(no live worker on a queue) cannot be one. ``CronWithTasks`` keeps RQ's loop (register birth,
enqueue the jobs that are due, heartbeat, sleep) and, on each turn of it, runs the in-process
tasks whose interval has come; it sleeps no longer than until the next one is due. A task that
raises is logged and tried again at its next turn; it never stops the scheduler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections
from django_rq.cron import DjangoCronScheduler
from rq.cron import CronJob
from rq.exceptions import StopRequested

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InProcessTask:
    name: str
    interval_seconds: float
    run: Callable[[], Any]


def task_run_safely(task: InProcessTask) -> bool:
    """Run ``task`` once on a fresh database connection; log and swallow what it raises (but a stop
    request). True if it ran."""
    close_old_connections()
    try:
        task.run()
    except StopRequested:  # SIGTERM while the task ran: the scheduler stops, as RQ's loop does
        raise
    except Exception:
        logger.exception("in-process task failed", extra={"task": task.name})
        return False
    finally:
        close_old_connections()
    return True


class CronWithTasks(DjangoCronScheduler):
    def __init__(self, *, tasks: Sequence[InProcessTask], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tasks = list(tasks)
        self._due = {task.name: 0.0 for task in self.tasks}  # monotonic time; 0: at the first turn

    def run_due_tasks(self) -> None:
        for task in self.tasks:
            if time.monotonic() >= self._due[task.name]:
                self._due[task.name] = time.monotonic() + task.interval_seconds
                task_run_safely(task)

    def enqueue_jobs(self) -> list[CronJob]:
        """RQ's turn (enqueue the due jobs), then the due in-process tasks, even if Redis failed."""
        try:
            return super().enqueue_jobs()
        finally:
            self.run_due_tasks()

    def calculate_sleep_interval(self) -> float:
        until_task = min(self._due.values(), default=float("inf")) - time.monotonic()
        return max(0.0, min(float(super().calculate_sleep_interval()), until_task))
