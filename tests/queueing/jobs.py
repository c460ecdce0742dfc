"""A job function that knows nothing of orders, to show the queueing machinery is generic.

``remember`` appends its run to a Redis list; ``mode`` makes it fail for good or raise every time.
"""

from __future__ import annotations

import logging

import django_rq

from queueing.breaker import CircuitBreaker
from queueing.runtime import Progress, Waiting, job_run_tracked


class GiveUp(Exception):
    """Asking again will not help."""


def ran_key(subject_id: str) -> str:
    return f"tests:ran:{subject_id}"


def failed_key(subject_id: str) -> str:
    return f"tests:failed:{subject_id}"


def remember(*, subject_id: str, run: int, mode: str = "ok") -> str:
    connection = django_rq.get_connection("maintenance")

    def work(progress: Progress) -> str:
        progress("working", 50, 1)
        connection.rpush(ran_key(subject_id), run)
        if mode == "give_up":
            raise GiveUp("not this one")
        if mode == "raise":
            raise RuntimeError("broken every time")
        return "done"

    def on_final_failure(exc: Exception) -> None:
        connection.rpush(failed_key(subject_id), type(exc).__name__)

    return job_run_tracked(work, final_errors=(GiveUp,), on_final_failure=on_final_failure)


class Busy(Exception):
    """Our own limit is busy: wait, but the service said nothing."""


class Down(Exception):
    """The service failed: wait, and count it against the breaker."""


def remember_breaker() -> CircuitBreaker:
    return CircuitBreaker(
        name="tests-remember", threshold=2, cooldown_seconds=60, connection_queue="maintenance"
    )


def remember_waiting(*, subject_id: str, run: int, mode: str = "busy") -> str:
    """Like ``remember``, but its errors are waited out behind ``remember_breaker()``."""

    def work(progress: Progress) -> str:
        raise Busy("our own limit") if mode == "busy" else Down("the service is down")

    waiting = Waiting(
        errors=(Busy, Down),
        stage="waiting",
        keep_waiting=lambda exc, waited: True,
        first_delay=60,
        max_delay=60,
        breaker=remember_breaker(),
        neutral_errors=(Busy,),
    )
    return job_run_tracked(work, on_final_failure=lambda exc: None, waiting=waiting)


def say(*, subject_id: str, run: int, note: str = "") -> str:
    """Log one line (no ``extra=``): what it carries comes from the job's log context alone."""
    logging.getLogger(__name__).info("said")
    return "said"


def horse_state(*, modules: list[str], nap: float = 0.0) -> dict[str, object]:
    """What the work horse running this found loaded when it started: which of ``modules``, how
    many objects were frozen out of the garbage collector, its pid (not its worker's) and its
    worker's name; ``nap`` seconds between ``started`` and ``ended``."""
    import gc
    import os
    import sys
    import time

    from rq import get_current_job

    job = get_current_job()
    state: dict[str, object] = {
        "loaded": [m for m in modules if m in sys.modules],
        "frozen": gc.get_freeze_count(),
        "pid": os.getpid(),
        "worker": job.worker_name if job else "",
        "started": time.time(),
    }
    time.sleep(nap)
    state["ended"] = time.time()
    return state


def db_state(*, nap: float = 0.0) -> dict[str, object]:
    """Which process, thread and PostgreSQL backend ran this job; ``nap`` seconds between ``started`` and ``ended``."""
    import os
    import threading
    import time

    from django.db import connection
    from rq import get_current_job

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    job = get_current_job()
    started = time.time()
    time.sleep(nap)
    return {
        "pid": os.getpid(),
        "thread": threading.get_ident(),
        "backend": backend,
        "worker": job.worker_name if job else "",
        "started": started,
        "ended": time.time(),
    }


def flaky(*, key: str) -> int:
    """Count this run in Redis under ``key``; the first run raises (so RQ retries it), later ones return the count."""
    runs = int(django_rq.get_connection("maintenance").incr(key))
    if runs == 1:
        raise RuntimeError("first run fails")
    return runs
