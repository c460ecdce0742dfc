"""The cron process: RQ's cron scheduler for ``blogorder.cron`` plus, in this process, the alert
checks and the stats log line every ``ALERT_CHECK_INTERVAL_SECONDS``.

The periodic jobs still go to the ``maintenance`` queue for a worker to run (as ``rqcron``); the
checks do not, so "no live worker" is noticed with every worker gone. Run exactly one (several
would only enqueue the periodic jobs twice; the alerts themselves are sent once either way).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from alerts.services import alerts_check
from purchases.monitoring import alert_checks, system_stats_log
from queueing.cron import CronWithTasks, InProcessTask, task_run_safely

logger = logging.getLogger(__name__)


def alert_checks_run() -> None:
    report = alerts_check(alert_checks())
    level = (
        logging.INFO
        if report.opened or report.resolved or report.sent or report.failed_checks
        else logging.DEBUG
    )
    logger.log(
        level,
        "alert checks",
        extra={
            "opened": report.opened,
            "resolved": report.resolved,
            "sent": report.sent,
            "failed_checks": report.failed_checks,
        },
    )


class Command(BaseCommand):
    help = (
        "RQ's cron scheduler for the periodic jobs (default blogorder.cron), and in this process the "
        "alert checks and the queue stats log line every minute. --once: run the checks and log the "
        "stats once, enqueue nothing, exit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "config_path", nargs="?", default="blogorder.cron", help="RQ cron configuration module"
        )
        parser.add_argument(
            "--once", action="store_true", help="Run the checks and the stats log once and exit."
        )
        parser.add_argument(
            "--logging-level",
            "-l",
            choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
            default="INFO",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = settings.ALERT_CHECK_INTERVAL_SECONDS
        tasks = [
            InProcessTask(name="alert checks", interval_seconds=interval, run=alert_checks_run),
            InProcessTask(name="queue stats", interval_seconds=interval, run=system_stats_log),
        ]
        if options["once"]:
            failed = [task.name for task in tasks if not task_run_safely(task)]
            if failed:
                self.stderr.write(f"failed: {', '.join(failed)} (see the log)")
                raise SystemExit(1)
            self.stdout.write("alert checks and queue stats done")
            return
        scheduler = CronWithTasks(tasks=tasks, logging_level=getattr(logging, options["logging_level"]))
        self.stdout.write(f"Loading cron configuration from {options['config_path']}")
        scheduler.load_config_from_file(options["config_path"])
        self.stdout.write(
            f"Starting cron scheduler with {len(scheduler.get_jobs())} jobs, and the alert checks and "
            f"queue stats every {interval} s in this process"
        )
        try:
            scheduler.start()
        except KeyboardInterrupt:
            self.stdout.write("Shutting down cron scheduler...")
