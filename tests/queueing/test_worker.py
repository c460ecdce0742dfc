"""Shutting a worker down mid-job: SIGTERM finishes the job, or past the grace hands it back to run again.

Real `manage.py rqworker` processes (queueing.worker.GracefulWorker via RQ["WORKER_CLASS"]) on the
test database and Redis; OpenAI is the fake server, answering slowly so the job is mid-run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_rq
import pytest

from purchases.models import EmailRecord, Order, OrderStatus
from purchases.services.runs import orders_reconcile
from queueing.models import JobAttempt, JobRequest
from tests.purchases.test_faults import GOOD, _test_database_url, paid, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


def rqworker(
    *queues: str, fake_openai_url: str, log: Path, grace: int = 60, burst: bool = False
) -> subprocess.Popen[bytes]:
    """A real `manage.py rqworker` process (its own process group) with this shutdown grace."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "TEST_OPENAI_API_KEY": "sk-test-fake",
        "TEST_OPENAI_BASE_URL": f"{fake_openai_url}/v1",
        "WORKER_SHUTDOWN_GRACE_SECONDS": str(grace),
    }
    args = [sys.executable, "manage.py", "rqworker", *queues, "--worker-ttl", "60"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*args, "--burst"] if burst else args,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stopped(worker: subprocess.Popen[bytes], *, timeout: float) -> int:
    """The worker's exit code once it exits by itself within ``timeout`` (killed and failed otherwise)."""
    try:
        return worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        raise AssertionError("the worker did not exit in time") from None


def stop_mid_job(
    worker: subprocess.Popen[bytes], *, fake_openai: Any, log: Path, second_signal: bool
) -> None:
    """Once the model call is under way: SIGTERM (twice with ``second_signal``); the worker must exit
    well before the 30 s the call takes."""
    try:
        wait_for(lambda: len(fake_openai.requests) == 1)
        started = time.monotonic()
        os.kill(worker.pid, signal.SIGTERM)
        if second_signal:
            time.sleep(1.5)  # RQ ignores a second signal within a second of the first
            os.kill(worker.pid, signal.SIGTERM)
        stopped(worker, timeout=15)
        assert time.monotonic() - started < 10, log.read_text()  # not the 30 s the model call takes
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)


def handed_back(order: Order, *, log: Path) -> JobRequest:
    """The order's job was handed back at once: its attempt closed, the job queued again under the same id."""
    request = JobRequest.objects.get(subject_id=order.id)
    assert request.state == JobRequest.State.ENQUEUED, log.read_text()
    assert [a.outcome for a in request.attempts.all()] == ["interrupted"]
    assert django_rq.get_queue("backlink-integration").get_job_ids() == [request.job_id]
    # The reconciler (as cron runs it, its heartbeat grace unchanged) finds nothing to put back.
    report = orders_reconcile(grace=timedelta(0))
    assert (report.requeued, report.abandoned) == ([], [])
    return request


def done_once(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    assert order.drafts.count() == 1
    assert EmailRecord.objects.filter(order=order, sent_at__isnull=False).count() == 1


def test_sigterm_during_a_job_finishes_it_and_the_worker_exits(
    api: Any, article: Any, fake_openai: Any, tmp_path: Path
) -> None:
    fake_openai.script({"delay": 3, "then": GOOD})
    order = paid(api, article, "evt_warm")
    worker = rqworker("backlink-integration", fake_openai_url=fake_openai.url, log=tmp_path / "worker.log")
    try:
        wait_for(lambda: len(fake_openai.requests) == 1)
        os.kill(worker.pid, signal.SIGTERM)
        assert stopped(worker, timeout=20) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

    done_once(order)
    attempt = JobAttempt.objects.get(request__subject_id=order.id)  # it ran once, to the end
    assert attempt.finished_at is not None and attempt.outcome not in ("", "interrupted")
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize("second_signal", [False, True], ids=["grace-over", "second-sigterm"])
def test_a_job_still_running_when_the_worker_must_stop_is_handed_back_and_completes_once(
    api: Any, article: Any, fake_openai: Any, tmp_path: Path, second_signal: bool
) -> None:
    fake_openai.script({"delay": 30, "then": GOOD}, GOOD)
    order = paid(api, article, "evt_cold")
    log = tmp_path / "worker.log"
    worker = rqworker(
        "backlink-integration", fake_openai_url=fake_openai.url, log=log, grace=60 if second_signal else 2
    )
    stop_mid_job(worker, fake_openai=fake_openai, log=log, second_signal=second_signal)
    request = handed_back(order, log=log)

    rerun = rqworker("backlink-integration", fake_openai_url=fake_openai.url, log=log, burst=True)
    assert stopped(rerun, timeout=30) == 0, log.read_text()

    done_once(order)
    request.refresh_from_db()
    assert request.state == JobRequest.State.DONE
    assert request.attempts.count() == 2  # the interrupted one and the rerun
    assert len(fake_openai.requests) == 2


PRELOADED = ["purchases.jobs", "articles.writers", "openai", "stripe"]


def test_a_work_horse_starts_with_the_job_modules_already_loaded_by_its_worker(
    fake_openai: Any, tmp_path: Path
) -> None:
    queue = django_rq.get_queue("backlink-integration")
    job = queue.enqueue("tests.queueing.jobs.horse_state", modules=PRELOADED)
    log = tmp_path / "worker.log"
    worker = rqworker("backlink-integration", fake_openai_url=fake_openai.url, log=log, burst=True)
    assert stopped(worker, timeout=30) == 0, log.read_text()

    result = job.latest_result()
    assert result is not None, log.read_text()
    state = result.return_value
    assert isinstance(state, dict)
    assert state["pid"] != worker.pid  # it ran in a forked horse
    # Loaded once in the worker before the fork, not again in each horse: the job did not import them.
    assert state["loaded"] == PRELOADED, log.read_text()
    assert state["frozen"] > 0  # and kept out of the collector's passes, so their pages stay shared


def test_rqworker_pool_runs_jobs_side_by_side_in_preloaded_graceful_workers(tmp_path: Path) -> None:
    queue = django_rq.get_queue("backlink-integration")
    jobs = [queue.enqueue("tests.queueing.jobs.horse_state", modules=PRELOADED, nap=2.0) for _ in range(2)]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
    log = tmp_path / "pool.log"
    with log.open("ab") as out:
        pool = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "rqworker_pool",
                "backlink-integration",
                "--num-workers",
                "2",
                "--burst",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    assert stopped(pool, timeout=60) == 0, log.read_text()

    states = []
    for job in jobs:
        result = job.latest_result()
        assert result is not None, log.read_text()
        assert isinstance(result.return_value, dict), log.read_text()
        states.append(result.return_value)
    # Two workers: the two 2-second jobs overlapped, each in its own horse.
    (a, b) = states
    assert a["started"] < b["ended"] and b["started"] < a["ended"], states
    assert a["pid"] != b["pid"]
    assert all(s["loaded"] == PRELOADED and s["frozen"] > 0 for s in states)
    assert a["worker"] != b["worker"]
