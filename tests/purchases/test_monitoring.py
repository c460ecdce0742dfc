"""purchases.monitoring: the overdue-order check and the stats, after a real order flow (real worker)."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Incident
from alerts.services import alerts_check
from purchases.models import Order, OrderStatus, OrderTransition
from purchases.monitoring import alert_checks, system_stats, system_stats_log
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order, make_published_article

pytestmark = pytest.mark.django_db(transaction=True)


def paid_order(api: Any, article: Any) -> Order:
    order, _ = make_order(article, anchor_text="memory foam pillows")
    assert signed_post(api, checkout_event(order, event_id=f"evt_{order.pk}")).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    return order


def test_an_order_in_processing_past_its_deadline_is_told_once_and_recovers_when_it_moves_on(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any, alert_webhook: Any, settings: Any
) -> None:
    settings.ORDER_PROCESSING_DEADLINE_SECONDS = 1800
    order = paid_order(api, article)
    mailoutbox.clear()
    alerts_check(alert_checks())
    assert not Incident.objects.filter(key="orders-overdue").exists()

    # It entered PROCESSING 31 minutes ago (its transition says so) and no worker has taken it.
    entered = timezone.now() - timedelta(minutes=31)
    OrderTransition.objects.filter(order=order, to_status=OrderStatus.PROCESSING).update(created_at=entered)
    for _ in range(3):
        alerts_check(alert_checks())

    overdue = [m for m in mailoutbox if "PROCESSING" in m.subject]
    assert [m.subject for m in overdue] == [
        "[Blogorder] Alert: Orders in PROCESSING past their deadline (30 min)"
    ]
    assert str(order.pk) in overdue[0].body and "orders overdue: 1" in overdue[0].body
    assert ("alert", "orders-overdue") in alert_webhook.events()

    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    alerts_check(alert_checks())
    alerts_check(alert_checks())

    overdue = [m.subject for m in mailoutbox if "PROCESSING" in m.subject]
    assert overdue == [
        "[Blogorder] Alert: Orders in PROCESSING past their deadline (30 min)",
        "[Blogorder] Resolved: Orders in PROCESSING past their deadline (30 min)",
    ]
    assert [e for e in alert_webhook.events() if e[1] == "orders-overdue"] == [
        ("alert", "orders-overdue"),
        ("recovery", "orders-overdue"),
    ]


def test_an_order_without_a_recorded_move_counts_from_its_payment(
    api: Any, article: Any, mailoutbox: Any
) -> None:
    order = paid_order(api, article)
    OrderTransition.objects.filter(order=order).delete()
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=1))
    alerts_check(alert_checks())
    assert Incident.objects.get(key="orders-overdue").details["order_ids"] == [str(order.pk)]


def test_stats_after_an_order_flow_count_the_order_the_queues_and_the_last_hours_tries(
    api: Any, article: Any, run_worker: Any
) -> None:
    paid_order(api, article)
    before = system_stats()
    backlink = next(q for q in before["queues"] if q["name"] == "backlink-integration")
    assert backlink["depth"] == 1 and backlink["workers_alive"] == 0
    assert before["orders_by_status"]["PROCESSING"] == 1

    run_worker()
    stats = system_stats()

    assert stats["orders_by_status"]["PROCESSING"] == 0 and stats["orders_by_status"]["QUALITY_CHECK"] == 1
    assert stats["last_hour"]["backlink-integration"] == {"finished": 1, "failed": 0, "waiting": 0}
    backlink = next(q for q in stats["queues"] if q["name"] == "backlink-integration")
    assert backlink["depth"] == 0 and backlink["finished"] == 1
    assert set(stats) == {"at", "queues", "workers", "orders_by_status", "last_hour"}


def test_the_stats_log_line_is_one_record_carrying_every_figure_in_its_extra_fields(
    api: Any, article: Any, caplog: Any
) -> None:
    import json

    paid_order(api, article)
    with caplog.at_level(logging.INFO, logger="purchases.monitoring"):
        system_stats_log()
    records = [r for r in caplog.records if r.name == "purchases.monitoring"]
    assert len(records) == 1 and records[0].getMessage() == "queue stats"
    record: Any = records[0]
    assert record.orders_by_status["PROCESSING"] == 1
    assert {q["name"] for q in record.queues} == {"article-generation", "backlink-integration", "maintenance"}
    json.dumps({k: getattr(record, k) for k in ("at", "queues", "workers", "orders_by_status", "last_hour")})


def test_an_order_waiting_for_approval_past_its_deadline_is_its_own_incident(
    api: Any, mailoutbox: Any, alert_webhook: Any, settings: Any, fake_stripe: Any
) -> None:
    settings.ORDER_APPROVAL_DEADLINE_SECONDS = 3600
    order, _ = make_order(make_published_article(needs_approval=True), anchor_text="memory foam pillows")
    assert signed_post(api, checkout_event(order, event_id="evt_wait")).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_APPROVAL
    alerts_check(alert_checks())
    assert not Incident.objects.filter(key="orders-approval-overdue").exists()

    entered = timezone.now() - timedelta(minutes=61)
    OrderTransition.objects.filter(order=order, to_status=OrderStatus.AWAITING_APPROVAL).update(
        created_at=entered
    )
    alerts_check(alert_checks())

    incident = Incident.objects.get(key="orders-approval-overdue")
    assert incident.details["order_ids"] == [str(order.pk)]
    assert incident.details["oldest_awaiting_approval_since"] == entered.astimezone(UTC).isoformat()
    assert not Incident.objects.filter(key="orders-overdue").exists()  # PROCESSING has its own
    assert [m.subject for m in mailoutbox if "Alert:" in m.subject] == [
        "[Blogorder] Alert: Orders waiting for approval (AWAITING_APPROVAL) past their deadline (60 min)"
    ]
    assert ("alert", "orders-approval-overdue") in alert_webhook.events()
