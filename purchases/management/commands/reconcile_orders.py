"""Re-enqueue paid orders whose job is missing, stuck or abandoned, and send unsent emails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from purchases.services.runs import orders_reconcile


class Command(BaseCommand):
    help = "Rebuild queue work from PostgreSQL: re-enqueue lost/abandoned jobs under their job ids, send unsent emails."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--grace-seconds", type=int, default=None, help="Skip orders changed more recently."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        grace = timedelta(seconds=options["grace_seconds"]) if options["grace_seconds"] is not None else None
        report = orders_reconcile(grace=grace)
        self.stdout.write(report.summary())
        for label, ids in (
            ("requeued", report.requeued),
            ("abandoned", report.abandoned),
            ("created", report.created),
        ):
            for job_id in ids:
                self.stdout.write(f"  {label}: {job_id}")
