"""Check recent paid Stripe Checkout Sessions against their orders and repair the ones a webhook missed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from purchases.errors import PaymentProviderError
from purchases.services.reconciliation import stripe_sessions_reconcile


class Command(BaseCommand):
    help = "Mark paid every order whose paid Checkout Session (created in the last --hours) it missed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours", type=int, default=48, help="how far back to list sessions (default 48)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours: int = options["hours"]
        if hours <= 0:
            raise CommandError("--hours must be positive")
        try:
            report = stripe_sessions_reconcile(since=timezone.now() - timedelta(hours=hours))
        except PaymentProviderError as exc:
            raise CommandError(exc.message) from exc
        if report.test_mode:
            self.stdout.write(
                "Stripe is in local TEST MODE (STRIPE_SECRET_KEY is unset): there are no Checkout Sessions to list."
            )
            return
        self.stdout.write(
            f"Paid Checkout Sessions in the last {hours} h: {report.listed}; "
            f"repaired {report.repaired}, already right {report.ok}, without an order {len(report.missing)}."
        )
        for session_id in report.missing:
            self.stdout.write(f"  no order for {session_id} (staff were emailed)")
        for session_id in report.mismatched:
            self.stdout.write(
                f"  {session_id} paid another amount or currency than its order (staff were emailed)"
            )
