"""Many hosts: three worker processes drain a burst of paid orders, and each order is done exactly once.

Three real `manage.py rqworker article-generation backlink-integration` processes (as on three
hosts: they share only PostgreSQL and Redis), twelve backlink orders paid through signed Stripe
webhooks, OpenAI faked at the HTTP boundary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from purchases.models import EmailRecord, OrderStatus
from queueing.models import JobAttempt, JobRequest
from tests.factories import make_published_article
from tests.purchases.test_faults import GOOD, _test_database_url, paid

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 12
WORKERS = 3


def burst_worker(fake_openai_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "TEST_OPENAI_API_KEY": "sk-test-fake",
        "TEST_OPENAI_BASE_URL": f"{fake_openai_url}/v1",
    }
    command = ["manage.py", "rqworker", "article-generation", "backlink-integration", "--worker-ttl", "60"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *command, "--burst"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_three_worker_processes_drain_a_burst_of_orders_each_done_once(
    api: Any, fake_openai: Any, tmp_path: Path
) -> None:
    fake_openai.default = lambda request: {"delay": 0.3, "then": GOOD}
    orders = [paid(api, make_published_article(), f"evt_burst_{n}") for n in range(ORDERS)]

    logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
    workers = [burst_worker(fake_openai.url, log) for log in logs]
    try:
        codes = [worker.wait(timeout=45) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    assert codes == [0] * WORKERS, "\n".join(log.read_text() for log in logs)

    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
        assert order.drafts.count() == 1
        assert EmailRecord.objects.filter(order=order, sent_at__isnull=False).count() == 1
        request = JobRequest.objects.get(subject_id=order.id)  # one run
        assert request.state == JobRequest.State.DONE
        assert request.attempts.count() == 1  # no job ran twice
    assert len(fake_openai.requests) == ORDERS
    attempts = JobAttempt.objects.filter(request__subject_id__in=[order.id for order in orders])
    assert attempts.values("worker").distinct().count() > 1  # the burst was shared out
