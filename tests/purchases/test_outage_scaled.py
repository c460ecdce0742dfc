"""The writing service down for a scaled outage, with 20 paid orders and 2 real worker processes.

Settings shrink minutes to seconds (cool-down 2 s instead of 60).
What must hold: every order reaches a draft after the recovery, nothing is refunded, and the model
calls made during the outage stay within the breaker's bound whatever the number of orders. The
figures for the issue's closing note are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from purchases.models import EmailKind, EmailRecord, Order, OrderStatus
from tests.conftest import signed_post, wait_for
from tests.factories import GOOD_BACKLINK_REPLY, make_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
GOOD = GOOD_BACKLINK_REPLY
ORDERS = 20
WORKERS = 2
OUTAGE_SECONDS = 8.0
# The scaled settings, given to the worker processes through their environment.
THRESHOLD = 3
COOLDOWN_SECONDS = 2.0
SCALED = {
    "LLM_BREAKER_THRESHOLD": str(THRESHOLD),
    "LLM_BREAKER_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS),
    # Back-off long against the outage (15-30 s, then 30-60 s): the orders come back within seconds
    # of the recovery only because the probe closes the breaker and closing releases them.
    "LLM_OUTAGE_FIRST_DELAY_SECONDS": "30",
    "LLM_OUTAGE_MAX_DELAY_SECONDS": "60",
    "LLM_OUTAGE_EMAIL_AFTER_SECONDS": "2",  # the prober waits past it (its next probe is >= 3 s on)
    "LLM_OUTAGE_PATIENCE_SECONDS": "3600",
    "TEST_LLM_TRANSIENT_RETRIES": "0",  # one call per try, as in production
}


def _database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


def worker_process(fake_openai_url: str) -> subprocess.Popen[bytes]:
    """A real ``manage.py rqworker`` with RQ's scheduler, on the test database, in its own process group."""
    env = {
        **os.environ,
        **SCALED,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "TEST_OPENAI_API_KEY": "sk-test-fake",
        "TEST_OPENAI_BASE_URL": f"{fake_openai_url}/v1",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "backlink-integration", "--with-scheduler"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def paid_order(api: Any, article: Any, fake_stripe: Any) -> Order:
    order, _ = make_order(article, anchor_text="memory foam pillows")
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    assert (
        signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id)).status_code
        == 200
    )
    return order


def statuses(orders: list[Order]) -> list[str]:
    return list(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True))


def test_a_writing_service_outage_with_20_orders_and_2_workers_delays_every_order_refunds_none_and_costs_bounded_calls(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any
) -> None:
    article.max_backlinks = ORDERS + 5
    article.save(update_fields=["max_backlinks"])
    calls: list[float] = []
    down = {"now": True}

    def responder(request: dict[str, Any]) -> Any:
        calls.append(time.monotonic())
        return {"status": 503} if down["now"] else GOOD

    fake_openai.default = responder
    orders = [paid_order(api, article, fake_stripe) for _ in range(ORDERS)]

    workers = [worker_process(fake_openai.url) for _ in range(WORKERS)]
    try:
        # The outage lasts OUTAGE_SECONDS from the first call: the workers' start-up, slower on a busy
        # machine (the suite runs in two processes), must not eat into it, or no order waits long
        # enough to be told of the delay.
        wait_for(lambda: calls, timeout=60)
        started = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        assert set(statuses(orders)) == {OrderStatus.PROCESSING}
        down["now"] = False
        recovered = time.monotonic()
        deadline = recovered + 40
        while time.monotonic() < deadline and set(statuses(orders)) != {OrderStatus.QUALITY_CHECK}:
            time.sleep(0.2)
        last_draft = time.monotonic()
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)

    during = sum(1 for t in calls if t < recovered)
    # The breaker's bound: the errors that open it, the calls in flight then, one probe a cool-down.
    probes = math.ceil(OUTAGE_SECONDS / COOLDOWN_SECONDS) + 1
    bound = THRESHOLD + WORKERS + probes
    refunded = Order.objects.filter(pk__in=[o.pk for o in orders], refunded_amount__gt=0).count()
    refunds_at_stripe = [r for r in fake_stripe.requests if r.path == "/v1/refunds"]
    delayed = [EmailRecord.objects.filter(order=o, kind=EmailKind.ORDER_DELAYED).count() for o in orders]
    print(
        f"\nOUTAGE FIGURES: orders={ORDERS} workers={WORKERS} outage={recovered - started:.1f}s "
        f"calls_during_outage={during} (bound {bound}; without a breaker at least {ORDERS}) "
        f"orders_refunded={refunded} recovery_to_last_draft={last_draft - recovered:.1f}s "
        f"delayed_emails={sum(delayed)}"
    )
    assert set(statuses(orders)) == {OrderStatus.QUALITY_CHECK}
    assert refunded == 0 and refunds_at_stripe == []
    assert during <= bound < ORDERS
    assert last_draft - recovered < 14
    assert max(delayed) == 1  # an order that waited past LLM_OUTAGE_EMAIL_AFTER_SECONDS is told once
