"""Fault injection: duplicate webhooks, Redis down or emptied, a worker killed mid-LLM-call, rate limits.

Real PostgreSQL, real Redis, real RQ workers (in-process burst workers, and separate worker
processes where one must be killed). Stripe and OpenAI are faked at the HTTP boundary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_rq
import pytest
from django.db import connection

from purchases.models import EmailRecord, Order, OrderStatus, OrderTransition
from purchases.services.runs import orders_reconcile
from queueing.models import JobAttempt, JobRequest
from tests.conftest import checkout_event, outbox_for, signed_post, wait_for
from tests.factories import GOOD_BACKLINK_REPLY, make_order
from tests.fakes import sign_stripe_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
GOOD = GOOD_BACKLINK_REPLY


def deliver(url: str, payload: bytes, secret: str) -> int:
    request = urllib.request.Request(
        f"{url}/api/v1/purchase/webhook",
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign_stripe_payload(payload, secret),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def worker_process(
    fake_openai_url: str | None = None, *, queues: tuple[str, ...] = ("backlink-integration",)
) -> subprocess.Popen[bytes]:
    """A real `manage.py rqworker --burst` process on ``queues`` of the test database, in its own process group."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
    if fake_openai_url:
        env |= {"TEST_OPENAI_API_KEY": "sk-test-fake", "TEST_OPENAI_BASE_URL": f"{fake_openai_url}/v1"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", *queues, "--burst"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _test_database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


def paid(api: Any, article: Any, event_id: str) -> Order:
    order, _ = make_order(article)
    assert signed_post(api, checkout_event(order, event_id=event_id)).status_code == 200
    return order


def test_1_one_completion_posted_five_times_at_once_and_later_pays_once(
    live_server: Any, article: Any, settings: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    payload = checkout_event(order, event_id="evt_dup")
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(
            pool.map(lambda _: deliver(live_server.url, payload, settings.STRIPE_WEBHOOK_SECRET), range(5))
        )
    run_worker()
    answers.append(deliver(live_server.url, payload, settings.STRIPE_WEBHOOK_SECRET))
    run_worker()
    assert all(200 <= status < 300 for status in answers)
    assert OrderTransition.objects.filter(order=order, to_status=OrderStatus.PROCESSING).count() == 1
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1
    assert order.drafts.count() == 1
    assert len(outbox_for(order)) == 1


def test_3_redis_down_at_commit_still_answers_and_the_reconciler_finishes_the_order(
    api: Any, article: Any, settings: Any, run_worker: Any, mailoutbox: Any
) -> None:
    real_queues = settings.RQ_QUEUES
    settings.RQ_QUEUES = {name: {**cfg, "URL": "redis://127.0.0.1:1/15"} for name, cfg in real_queues.items()}
    order, token = make_order(article)
    response = signed_post(api, checkout_event(order, event_id="evt_down"))
    assert response.status_code == 200
    status = api.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert status.status_code == 200  # the status page still answers, from PostgreSQL
    assert (status.json()["status"], status.json()["queue"]["state"]) == ("PROCESSING", "queued")
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert JobRequest.objects.get(subject_id=order.id).state == JobRequest.State.PENDING
    assert orders_reconcile(grace=timedelta(0)).redis_error  # still down: reported, nothing lost

    settings.RQ_QUEUES = real_queues  # Redis is back
    report = orders_reconcile(grace=timedelta(0))
    assert report.requeued == [order.queue_job_id]
    run_worker()
    assert orders_reconcile(grace=timedelta(0)).requeued == []
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert order.drafts.count() == 1
    assert len(outbox_for(order)) == 1


def test_4_a_worker_killed_mid_llm_call_is_rerun_and_completes_once(
    api: Any, article: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script({"delay": 30, "then": GOOD}, GOOD)
    order = paid(api, article, "evt_kill")
    worker = worker_process(fake_openai.url)
    try:
        wait_for(lambda: len(fake_openai.requests) == 1)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert not order.drafts.exists()

    time.sleep(1.2)
    report = orders_reconcile(grace=timedelta(0), heartbeat_grace=timedelta(seconds=1))
    assert report.abandoned == [order.queue_job_id]
    run_worker()

    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert order.drafts.count() == 1
    assert EmailRecord.objects.filter(order=order, sent_at__isnull=False).count() == 1
    assert (
        JobAttempt.objects.filter(request__subject_id=order.id).count() == 2
    )  # the killed one and the rerun


def test_5_redis_emptied_with_orders_queued_and_running_rebuilds_from_postgres(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, settings: Any
) -> None:
    """Every queue, job, registry and scheduler key lives in the app's one Redis database, so
    FLUSHDB on it loses exactly what a FLUSHALL (or a restart without AOF) would, without touching
    the other databases of a shared Redis server."""
    article.max_backlinks = 10
    article.save(update_fields=["max_backlinks"])
    fake_openai.default = lambda request: {"delay": 1.0, "then": GOOD}
    orders = [paid(api, article, f"evt_f{i}") for i in range(4)]
    worker = worker_process(fake_openai.url)
    try:
        wait_for(lambda: len(fake_openai.requests) >= 1)
        django_rq.get_connection("backlink-integration").flushdb()
        worker.wait(timeout=30)  # the running job finishes; the queued ones are gone with the flush
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    report = orders_reconcile(grace=timedelta(0), heartbeat_grace=timedelta(seconds=1))
    assert len(report.requeued) + len(report.abandoned) >= 3
    run_worker()
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
        assert order.drafts.count() == 1
        assert EmailRecord.objects.filter(order=order).count() == 1
        assert EmailRecord.objects.get(order=order).sent_at is not None


def test_6_two_rate_limits_with_retry_after_then_success_spend_no_quality_attempt(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, settings: Any
) -> None:
    settings.LLM_TRANSIENT_RETRIES = 4
    fake_openai.script(
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"status": 429, "headers": {"Retry-After": "1"}},
        GOOD,
    )
    order = paid(api, article, "evt_429")
    started = time.monotonic()
    run_worker()
    waited = time.monotonic() - started
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert order.current_version is not None
    assert len(order.current_version.qc_report["attempts"]) == 1
    assert len(fake_openai.requests) == 3
    assert waited >= 2.0  # Retry-After was honoured twice
