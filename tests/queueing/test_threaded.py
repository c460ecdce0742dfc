"""``manage.py rqworker_pool --threads N`` (queueing.threaded): N RQ workers as threads of one process.

Real worker processes on the test database and Redis; OpenAI is the fake server, answering slowly
so jobs are in flight when the process is killed or told to stop.
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
from rq import Worker

from purchases.services.runs import orders_reconcile
from queueing.models import JobAttempt, JobRequest
from tests.purchases.test_faults import GOOD, _test_database_url, paid, wait_for
from tests.queueing.test_worker import done_once, handed_back, stop_mid_job, stopped

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "backlink-integration"


def threaded(
    threads: int,
    *,
    log: Path,
    fake_openai_url: str | None = None,
    grace: int = 60,
    burst: bool = False,
    queues: tuple[str, ...] = (QUEUE,),
    options: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """A real `manage.py rqworker_pool QUEUE... --threads N [options]` process (its own process group)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "WORKER_SHUTDOWN_GRACE_SECONDS": str(grace),
    }
    if fake_openai_url:
        env |= {"TEST_OPENAI_API_KEY": "sk-test-fake", "TEST_OPENAI_BASE_URL": f"{fake_openai_url}/v1"}
    args = [sys.executable, "manage.py", "rqworker_pool", *queues, "--threads", str(threads), *options]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*args, "--burst"] if burst else args,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def result_of(job: Any) -> dict[str, Any]:
    result = job.latest_result()
    assert result is not None and isinstance(result.return_value, dict), job.id
    return result.return_value


def test_threads_run_jobs_side_by_side_in_one_process_each_a_registered_worker(tmp_path: Path) -> None:
    queue = django_rq.get_queue(QUEUE)
    jobs = [queue.enqueue("tests.queueing.jobs.db_state", nap=1.5) for _ in range(2)]
    log = tmp_path / "threads.log"
    seen: set[str] = set()

    def both_registered() -> bool:
        seen.update(w.name for w in Worker.all(queue=queue))
        return len(seen) >= 2

    pool = threaded(2, log=log, burst=True)
    try:
        wait_for(both_registered)
        assert stopped(pool, timeout=60) == 0, log.read_text()
    finally:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)

    a, b = (result_of(job) for job in jobs)
    assert a["started"] < b["ended"] and b["started"] < a["ended"], (a, b)  # overlapped
    assert a["pid"] == b["pid"] == pool.pid  # in the pool's own process: no work horse
    assert a["thread"] != b["thread"] and a["worker"] != b["worker"]
    assert {a["worker"], b["worker"]} <= seen  # each a worker registered in Redis while it ran
    assert Worker.all(queue=queue) == []  # and gone from Redis once the pool exited


def test_each_thread_keeps_its_own_database_connection_from_job_to_job(tmp_path: Path) -> None:
    queue = django_rq.get_queue(QUEUE)
    jobs = [queue.enqueue("tests.queueing.jobs.db_state", nap=0.3) for _ in range(6)]
    log = tmp_path / "threads.log"
    pool = threaded(2, log=log, burst=True)
    assert stopped(pool, timeout=60) == 0, log.read_text()

    states = [result_of(job) for job in jobs]
    backends: dict[int, set[int]] = {}
    for state in states:
        backends.setdefault(state["thread"], set()).add(state["backend"])
    assert len(backends) == 2, states
    # One PostgreSQL connection per thread, kept across its jobs; never one shared by two threads.
    assert all(len(pids) == 1 for pids in backends.values()), backends
    first, second = backends.values()
    assert first.isdisjoint(second)


def test_orders_drain_with_their_model_calls_in_flight_at_once(
    api: Any, article: Any, fake_openai: Any, tmp_path: Path
) -> None:
    fake_openai.script(GOOD, GOOD, GOOD)
    fake_openai.call_seconds = 1.0
    orders = [paid(api, article, f"evt_threads_{i}") for i in range(3)]
    log = tmp_path / "threads.log"
    pool = threaded(3, log=log, fake_openai_url=fake_openai.url, burst=True)
    assert stopped(pool, timeout=60) == 0, log.read_text()

    for order in orders:
        done_once(order)
    assert fake_openai.max_in_flight == 3


def test_sigterm_finishes_the_jobs_in_flight_and_the_process_exits(
    api: Any, article: Any, fake_openai: Any, tmp_path: Path
) -> None:
    fake_openai.script({"delay": 3, "then": GOOD}, {"delay": 3, "then": GOOD})
    orders = [paid(api, article, f"evt_threads_warm_{i}") for i in range(2)]
    log = tmp_path / "threads.log"
    pool = threaded(2, log=log, fake_openai_url=fake_openai.url)
    try:
        wait_for(lambda: len(fake_openai.requests) == 2)
        os.kill(pool.pid, signal.SIGTERM)
        assert stopped(pool, timeout=20) == 0, log.read_text()
    finally:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)

    for order in orders:
        done_once(order)
        attempt = JobAttempt.objects.get(request__subject_id=order.id)  # ran once, to the end
        assert attempt.finished_at is not None and attempt.outcome not in ("", "interrupted")
    assert Worker.all(queue=django_rq.get_queue(QUEUE)) == []


@pytest.mark.parametrize("second_signal", [False, True], ids=["grace-over", "second-sigterm"])
def test_jobs_still_running_when_the_process_must_stop_are_handed_back_and_complete_once(
    api: Any, article: Any, fake_openai: Any, tmp_path: Path, second_signal: bool
) -> None:
    fake_openai.script({"delay": 30, "then": GOOD}, GOOD)
    order = paid(api, article, "evt_threads_cold")
    log = tmp_path / "threads.log"
    pool = threaded(2, log=log, fake_openai_url=fake_openai.url, grace=60 if second_signal else 2)
    stop_mid_job(pool, fake_openai=fake_openai, log=log, second_signal=second_signal)
    request = handed_back(order, log=log)
    assert Worker.all(queue=django_rq.get_queue(QUEUE)) == []

    rerun = threaded(1, log=log, fake_openai_url=fake_openai.url, burst=True)
    assert stopped(rerun, timeout=30) == 0, log.read_text()
    done_once(order)
    request.refresh_from_db()
    assert request.state == JobRequest.State.DONE
    assert request.attempts.count() == 2


def test_a_killed_process_jobs_are_found_abandoned_and_rerun_once(
    api: Any, article: Any, fake_openai: Any, tmp_path: Path
) -> None:
    fake_openai.script({"delay": 30, "then": GOOD}, {"delay": 30, "then": GOOD}, GOOD, GOOD)
    orders = [paid(api, article, f"evt_threads_kill_{i}") for i in range(2)]
    log = tmp_path / "threads.log"
    pool = threaded(2, log=log, fake_openai_url=fake_openai.url)
    try:
        wait_for(lambda: len(fake_openai.requests) == 2)
        os.killpg(pool.pid, signal.SIGKILL)
        pool.wait(timeout=10)
    finally:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)

    time.sleep(1.2)
    for order in orders:
        order.refresh_from_db()
    report = orders_reconcile(grace=timedelta(0), heartbeat_grace=timedelta(seconds=1))
    assert sorted(report.abandoned) == sorted(o.queue_job_id for o in orders), log.read_text()
    rerun = threaded(2, log=log, fake_openai_url=fake_openai.url, burst=True)
    assert stopped(rerun, timeout=30) == 0, log.read_text()
    for order in orders:
        done_once(order)
        assert JobAttempt.objects.filter(request__subject_id=order.id).count() == 2  # killed + rerun
