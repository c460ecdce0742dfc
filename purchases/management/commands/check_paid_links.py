"""Confirm every paid, published link is still live with the right anchor and rel; email staff otherwise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from purchases.services.audit import paid_links_audit


class Command(BaseCommand):
    help = "Audit paid links in published articles (also runs nightly from blogorder/cron.py)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = paid_links_audit()
        self.stdout.write(
            f"checked {report.checked} published backlink orders; {len(report.problems)} problem(s)"
        )
        for problem in report.problems:
            self.stdout.write(f"  {problem}")
