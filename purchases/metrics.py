"""Prometheus metrics of orders, payments, model spend and emails, read from PostgreSQL at scrape time.

Every value is an aggregate query over the records the project keeps anyway (orders and their
transitions and drafts, ``RunSpend``, ``StripeEvent``, ``EmailRecord``), so any web process gives
the same answer and nothing is lost on restart. Totals are counters over the whole table; the
paid-to-draft histogram covers orders paid in the last ``WINDOW`` (a gauge histogram: read it
without ``rate()``). Registered by the wiring layer (``blogorder.metrics``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from prometheus_client.core import CounterMetricFamily, GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from purchases.models import (
    EmailRecord,
    Order,
    OrderDraft,
    OrderStatus,
    RunSpend,
    StripeEvent,
)
from purchases.selectors import orders_overdue_qs
from queueing.metrics import bucket_counts, duration_bucket_aggregates, seconds_of

WINDOW = timedelta(hours=24)
PAID_TO_DRAFT_BUCKETS: tuple[float, ...] = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200)


def orders_overdue_count(*, status: str, now: datetime | None = None) -> int:
    """How many orders are past their deadline in ``status`` (the alerts' rule, ``orders_overdue_qs``)."""
    return orders_overdue_qs(status=status, now=now or datetime.now(UTC)).count()


# The gauge of each status with a deadline (``OVERDUE_DEADLINE_SETTINGS``).
OVERDUE_GAUGES: dict[str, tuple[str, str]] = {
    OrderStatus.PROCESSING: (
        "blogorder_orders_processing_overdue",
        "Orders in PROCESSING past ORDER_PROCESSING_DEADLINE_SECONDS",
    ),
    OrderStatus.AWAITING_APPROVAL: (
        "blogorder_orders_approval_overdue",
        "Orders in AWAITING_APPROVAL past ORDER_APPROVAL_DEADLINE_SECONDS",
    ),
}


class OrderCollector(Collector):
    def collect(self) -> Iterator[Any]:
        yield self._orders()
        for status, (name, documentation) in OVERDUE_GAUGES.items():
            overdue = GaugeMetricFamily(name, documentation)
            overdue.add_metric([], orders_overdue_count(status=status))
            yield overdue
        yield self._paid_to_draft()
        yield from self._spend()
        yield self._webhooks()
        yield from self._emails()

    def _orders(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("blogorder_orders", "Orders by kind and status", labels=["kind", "status"])
        counts = {
            (row["kind"], row["status"]): row["n"]
            for row in Order.objects.values("kind", "status").annotate(n=Count("pk")).order_by()
        }
        for kind in Order.Kind.values:
            for status in OrderStatus.values:
                family.add_metric([kind, status], counts.get((kind, status), 0))
        return family

    def _paid_to_draft(self) -> GaugeHistogramMetricFamily:
        family = GaugeHistogramMetricFamily(
            "blogorder_order_paid_to_draft_seconds",
            f"Orders paid in the last {int(WINDOW.total_seconds() // 3600)} h that have a draft, by the time"
            " from payment to their first draft, by kind",
            labels=["kind"],
        )
        first_draft = (
            OrderDraft.objects.filter(order=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
        )
        rows = (
            Order.objects.filter(paid_at__gte=datetime.now(UTC) - WINDOW)
            .annotate(first_draft_at=Subquery(first_draft))
            .filter(first_draft_at__isnull=False)
            .annotate(
                delay=ExpressionWrapper(F("first_draft_at") - F("paid_at"), output_field=DurationField())
            )
            .values("kind")
            .annotate(
                n=Count("pk"),
                total=Sum("delay"),
                **duration_bucket_aggregates("delay", PAID_TO_DRAFT_BUCKETS),
            )
            .order_by("kind")
        )
        for row in rows:
            family.add_metric(
                [row["kind"]], bucket_counts(row, PAID_TO_DRAFT_BUCKETS), gsum_value=seconds_of(row["total"])
            )
        return family

    def _spend(self) -> Iterator[Any]:
        tokens = CounterMetricFamily(
            "blogorder_model_tokens",
            "Model tokens spent by every run (passed or failed), by order kind and type (prompt, completion)",
            labels=["kind", "type"],
        )
        for row in (
            RunSpend.objects.values("order__kind")
            .annotate(prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
            .order_by("order__kind")
        ):
            tokens.add_metric([row["order__kind"], "prompt"], row["prompt"] or 0)
            tokens.add_metric([row["order__kind"], "completion"], row["completion"] or 0)
        yield tokens
        cost = CounterMetricFamily(
            "blogorder_model_cost_usd",
            "Estimated model cost (USD) of the drafts stored for orders, as recorded on each version, by order kind",
            labels=["kind"],
        )
        for cost_row in (
            OrderDraft.objects.values("order__kind")
            .annotate(cost=Sum("version__estimated_cost_usd"))
            .order_by("order__kind")
        ):
            cost.add_metric([cost_row["order__kind"]], float(cost_row["cost"] or 0))
        yield cost

    def _webhooks(self) -> CounterMetricFamily:
        family = CounterMetricFamily(
            "blogorder_webhook_events",
            "Stripe events received (each once), by type and outcome",
            labels=["type", "outcome"],
        )
        for row in (
            StripeEvent.objects.values("type", "outcome").annotate(n=Count("pk")).order_by("type", "outcome")
        ):
            family.add_metric([row["type"], row["outcome"] or "none"], row["n"])
        return family

    def _emails(self) -> Iterator[Any]:
        sent = CounterMetricFamily("blogorder_emails_sent", "Customer emails sent, by kind", labels=["kind"])
        failed = GaugeMetricFamily(
            "blogorder_emails_failed",
            "Customer emails not sent whose last try failed (the reconciler tries them again), by kind",
            labels=["kind"],
        )
        for row in (
            EmailRecord.objects.values("kind")
            .annotate(
                sent=Count("pk", filter=Q(sent_at__isnull=False)),
                failed=Count("pk", filter=Q(sent_at__isnull=True) & ~Q(error="")),
            )
            .order_by("kind")
        ):
            sent.add_metric([row["kind"]], row["sent"])
            failed.add_metric([row["kind"]], row["failed"])
        yield sent
        yield failed
