"""`manage.py queue_stats` after a real order flow (a real worker): the tables, and `--json`."""

from __future__ import annotations

import io
import json
from typing import Any

import django_rq
import pytest
from django.core.management import call_command
from rq import SimpleWorker

from tests.conftest import signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def queue_stats(*args: str) -> str:
    out = io.StringIO()
    call_command("queue_stats", *args, stdout=out)
    return out.getvalue()


def rows_of(text: str, heading: str) -> dict[str, list[str]]:
    """The table under ``heading``: first cell -> the row's cells."""
    lines = text.split(f"\n{heading}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return {line.split()[0]: line.split() for line in lines[2:]}


def test_queue_stats_prints_queues_workers_orders_and_the_last_hour_after_an_order_flow(
    api: Any, article: Any, run_worker: Any, fake_stripe: Any
) -> None:
    order, _ = make_order(article, anchor_text="memory foam pillows")
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent="pi_stats")
    payload = fake_stripe.checkout_session_event(order.stripe_checkout_session_id)
    assert signed_post(api, payload).status_code == 200
    django_rq.get_queue("maintenance").enqueue("builtins.int", "not a number")  # one failed job
    run_worker()
    maintenance = django_rq.get_queue("maintenance")
    idle = SimpleWorker([maintenance], connection=maintenance.connection, name="stats-worker")
    idle.register_birth()
    try:
        idle.heartbeat()
        idle.set_state("idle")  # as a worker blocked waiting for a job
        text = queue_stats()
        data = json.loads(queue_stats("--json"))
    finally:
        idle.register_death()

    queues = rows_of(text, "Queues")
    # queue, depth, oldest job, workers alive/registered, busy, started, scheduled, deferred, finished, failed
    assert queues["backlink-integration"] == [
        "backlink-integration",
        "0",
        "-",
        "0/0",
        "0",
        "0",
        "0",
        "0",
        "1",
        "0",
    ]
    assert queues["maintenance"] == [
        "maintenance",
        "0",
        "-",
        "1/1",
        "0",
        "0",
        "0",
        "0",
        "1",
        "1",
    ]  # the receipt job; the int
    workers = rows_of(text, "Workers")
    assert workers["stats-worker"][1:4] == ["maintenance", "idle", "yes"]
    orders = rows_of(text, "Orders by status")
    assert orders["QUALITY_CHECK"] == ["QUALITY_CHECK", "1"] and orders["PROCESSING"] == ["PROCESSING", "0"]
    assert rows_of(text, "Last hour (job tries by queue)")["backlink-integration"] == [
        "backlink-integration",
        "1",
        "0",
        "0",
    ]

    assert data["orders_by_status"]["QUALITY_CHECK"] == 1
    assert data["last_hour"]["backlink-integration"] == {"finished": 1, "failed": 0, "waiting": 0}
    by_name = {q["name"]: q for q in data["queues"]}
    assert by_name["maintenance"]["failed"] == 1 and by_name["maintenance"]["workers_alive"] == 1
    assert [w["name"] for w in data["workers"]] == ["stats-worker"]
    assert data["workers"][0]["queues"] == ["maintenance"] and data["workers"][0]["current_job"] is None
