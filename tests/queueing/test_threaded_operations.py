"""``rqworker_pool --threads N`` as production runs it (``--with-scheduler --worker-ttl 60``), and what
operations read of it: the worker health check, ``/readyz``, ``queue_stats`` and ``/metrics`` count
its threads as live workers while it runs and none once it is killed; through Redis Sentinel too.

Real pool processes on the test database and Redis (the reconciler's side of a killed pool, its
jobs found abandoned and run again once, is in ``test_threaded.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import django_rq
import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rq import Retry, Worker
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.utils import as_text

from blogorder.settings.env import BASE_DIR
from tests.blogorder.test_metrics import TOKEN, scrape, value
from tests.blogorder.test_redis_client import sentinel  # noqa: F401 -- the fixture
from tests.blogorder.test_settings import deploy_env
from tests.purchases.test_faults import wait_for
from tests.queueing.test_threaded import QUEUE, threaded
from tests.queueing.test_worker import stopped

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

MODEL_QUEUES = ("article-generation", "backlink-integration")
PRODUCTION = ("--with-scheduler", "--worker-ttl", "60")


@pytest.fixture
def pools() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Pool processes a test starts; any still running at its end is killed with its scheduler."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for pool in started:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)
            pool.wait()


def schedulers(connection: redis.Redis) -> list[dict[str, str]]:
    """The RQ schedulers registered in Redis (each process's hash: name, pid, hostname, queues)."""
    return [
        {as_text(k): as_text(v) for k, v in connection.hgetall(key).items()}
        for key in connection.scan_iter(match="rq:scheduler:*", _type="hash")
    ]


def parent_pid(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_with_scheduler_the_pool_runs_a_retry_and_a_job_scheduled_for_later(
    tmp_path: Path, pools: list[subprocess.Popen[bytes]]
) -> None:
    queue = django_rq.get_queue(QUEUE)
    connection = queue.connection
    key = f"tests:flaky:{uuid.uuid4()}"
    retried = queue.enqueue("tests.queueing.jobs.flaky", key=key, retry=Retry(max=1, interval=1))
    later = queue.enqueue_in(timedelta(seconds=2), "tests.queueing.jobs.db_state")
    log = tmp_path / "pool.log"
    pool = threaded(2, log=log, options=PRODUCTION)
    pools.append(pool)

    wait_for(lambda: retried.get_status(refresh=True) == JobStatus.FINISHED, timeout=30)
    wait_for(lambda: later.get_status(refresh=True) == JobStatus.FINISHED, timeout=30)
    assert retried.latest_result() is not None and retried.latest_result().return_value == 2  # type: ignore[union-attr]
    assert connection.get(key) == b"2"  # failed once, moved back by the scheduler, ran again
    # One scheduler, this pool's own child process, holding the queue's lock.
    (scheduler,) = schedulers(connection)
    assert parent_pid(int(scheduler["pid"])) == pool.pid, log.read_text()
    assert connection.get(RQScheduler.get_locking_key(QUEUE)) == scheduler["name"].encode()

    os.kill(pool.pid, signal.SIGTERM)
    assert stopped(pool, timeout=20) == 0, log.read_text()
    assert schedulers(connection) == []  # the scheduler stopped with it and let its lock go
    assert connection.get(RQScheduler.get_locking_key(QUEUE)) is None
    assert not Path(f"/proc/{scheduler['pid']}").exists()  # and its process ended (reaped, not orphaned)


def test_without_with_scheduler_the_pool_leaves_scheduled_jobs_alone(
    tmp_path: Path, pools: list[subprocess.Popen[bytes]]
) -> None:
    queue = django_rq.get_queue(QUEUE)
    later = queue.enqueue_in(timedelta(seconds=1), "tests.queueing.jobs.db_state")
    log = tmp_path / "pool.log"
    pool = threaded(1, log=log)
    pools.append(pool)
    wait_for(lambda: len(Worker.all(queue=queue)) == 1)
    time.sleep(3)

    assert later.get_status(refresh=True) == JobStatus.SCHEDULED, log.read_text()
    assert schedulers(queue.connection) == []
    os.kill(pool.pid, signal.SIGTERM)
    assert stopped(pool, timeout=20) == 0, log.read_text()


def test_each_thread_registers_with_the_worker_ttl_given(
    tmp_path: Path, pools: list[subprocess.Popen[bytes]]
) -> None:
    queue = django_rq.get_queue(QUEUE)
    log = tmp_path / "pool.log"
    pool = threaded(2, log=log, options=("--worker-ttl", "37"))
    pools.append(pool)
    wait_for(lambda: len(Worker.all(queue=queue)) == 2)

    # RQ keeps a worker's key worker_ttl + 60 s after its last heartbeat (97 s here, 120 by default).
    ttls = [queue.connection.ttl(worker.key) for worker in Worker.all(queue=queue)]
    assert all(80 < ttl <= 97 for ttl in ttls), ttls
    os.kill(pool.pid, signal.SIGTERM)
    assert stopped(pool, timeout=20) == 0, log.read_text()


def test_a_bad_worker_ttl_or_one_for_forked_workers_is_refused() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("rqworker_pool", QUEUE, "--threads", "2", "--worker-ttl", "0")
    with pytest.raises(CommandError, match="applies to --threads"):
        call_command("rqworker_pool", QUEUE, "--num-workers", "2", "--worker-ttl", "60")


def worker_alive(*options: str) -> str:
    out = StringIO()
    call_command("worker_alive", *options, stdout=out)
    return out.getvalue()


def queue_stats() -> dict[str, Any]:
    out = StringIO()
    call_command("queue_stats", "--json", stdout=out)
    return {q["name"]: q for q in json.loads(out.getvalue())["queues"]}


def test_health_readiness_stats_and_metrics_count_the_threads_alive_and_a_killed_pool_not(
    client: Client, settings: Any, tmp_path: Path, pools: list[subprocess.Popen[bytes]]
) -> None:
    settings.METRICS_TOKEN = TOKEN
    queue = django_rq.get_queue(QUEUE)
    log = tmp_path / "pool.log"
    pool = threaded(3, log=log, queues=MODEL_QUEUES, options=PRODUCTION)
    pools.append(pool)
    wait_for(lambda: len(Worker.all(queue=queue)) == 3)
    busy = queue.enqueue("tests.queueing.jobs.db_state", nap=4)
    wait_for(lambda: busy.get_status(refresh=True) == JobStatus.STARTED)

    # The worker container's health check: this host has live workers, on the queues asked for.
    assert worker_alive("--queue", "backlink-integration", "--queue", "article-generation").startswith(
        "alive: "
    )
    with pytest.raises(CommandError, match="listens on maintenance"):
        worker_alive("--queue", "maintenance")  # the forked maintenance worker's, not this pool's
    ready = client.get("/readyz").json()
    assert ready["checks"]["workers"] == {
        "article-generation": 3,
        "backlink-integration": 3,
        "maintenance": 0,
    }
    assert ready["failed"] == ["workers:maintenance"]
    stats = queue_stats()
    assert (stats[QUEUE]["workers_alive"], stats[QUEUE]["busy_workers"], stats[QUEUE]["started"]) == (3, 1, 1)
    samples, _ = scrape(client)
    assert value(samples, "blogorder_queue_workers_alive", queue=QUEUE) == 3
    assert value(samples, "blogorder_queue_workers_busy", queue=QUEUE) == 1

    os.killpg(pool.pid, signal.SIGKILL)  # the OOM killer, or a host lost: no goodbye to Redis
    pool.wait(timeout=10)
    time.sleep(2.5)
    settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS = 2  # an idle thread beat every 2 s while it lived

    with pytest.raises(CommandError, match="no live worker"):
        worker_alive()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["workers"] == {
        "article-generation": 0,
        "backlink-integration": 0,
        "maintenance": 0,
    }
    stats = queue_stats()
    assert (stats[QUEUE]["workers"], stats[QUEUE]["workers_alive"]) == (3, 0)  # keys not yet expired
    samples, _ = scrape(client)
    assert value(samples, "blogorder_queue_workers_alive", queue=QUEUE) == 0
    assert Job.fetch(busy.id, connection=queue.connection).get_status() == JobStatus.STARTED  # abandoned


def test_a_pool_through_redis_sentinel_schedules_runs_and_stops_cleanly(
    sentinel: tuple[str, redis.Redis],  # noqa: F811 -- the fixture imported above
    tmp_path: Path,
) -> None:
    address, master = sentinel
    db = master.connection_pool.connection_kwargs.get("db", 0)
    env = deploy_env(REDIS_URL=f"redis://no-such-host:1/{db}", REDIS_SENTINELS=address)
    env["REDIS_SENTINEL_MASTER"] = "blogorder"
    queue = django_rq.get_queue(QUEUE)
    key = f"tests:flaky:{uuid.uuid4()}"
    retried = queue.enqueue("tests.queueing.jobs.flaky", key=key, retry=Retry(max=1, interval=1))
    log = tmp_path / "pool.log"
    with log.open("ab") as out:
        pool = subprocess.Popen(
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "rqworker_pool",
                QUEUE,
                "--threads",
                "2",
                *PRODUCTION,
            ],
            env=env,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: retried.get_status(refresh=True) == JobStatus.FINISHED, timeout=30)
        names = [worker.name for worker in Worker.all(queue=queue)]
        assert len(names) == 2
        time.sleep(0.5)  # blocked in their wait for work
        os.kill(pool.pid, signal.SIGTERM)
        assert stopped(pool, timeout=20) == 0, log.read_text()
    finally:
        if pool.poll() is None:
            os.killpg(pool.pid, signal.SIGKILL)
    output = log.read_text()
    tracebacks = [line for line in output.splitlines() if "Traceback" in line]
    assert len(tracebacks) == 1 and "first run fails" in tracebacks[0], output  # only the job's own
    assert master.get(key) == b"2"
    assert all(master.hget(f"rq:worker:{name}", "death") for name in names)  # each said goodbye
    assert Worker.all(queue=queue) == [] and schedulers(master) == []
    assert master.get(RQScheduler.get_locking_key(QUEUE)) is None
