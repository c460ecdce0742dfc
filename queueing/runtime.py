"""What runs around every job function: attempt records, progress, and the final-failure hook.

A job function (the app's thin adapter) hands its work to ``job_run_tracked``; each worker
execution becomes a ``JobAttempt`` of the job's ``JobRequest``, so staff see every attempt and its
error and the reconciler knows which runs finished.

A job may also wait out an outage of a service it needs (``Waiting``): the try ends, the worker is
free, and RQ's scheduler runs the same job id again after a growing, jittered delay (the job's
retry count and intervals are extended for that one retry, so its own retries for other errors
are kept). A scheduled job is an active one to the reconciler, so a waiting run is never "lost".
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rq.job import Job, get_current_job

from queueing.breaker import CircuitBreaker, CircuitOpen
from queueing.services import job_attempt_finish, job_attempt_start

logger = logging.getLogger(__name__)

# progress(stage, percent, attempt): what a job reports while its service runs.
Progress = Callable[[str, int, int], None]


def job_log_context() -> dict[str, Any]:
    """The log fields of the RQ job running here (none outside a job): every line it logs carries them.

    Its ``job_id``, its id arguments (``order_id``, ``run``, ``lookup_id``…: jobs take ids, never
    objects) and the ``request_id`` it was enqueued under (``queueing.enqueue.job_put`` keeps it
    in ``meta``). Registered with ``blogorder.logs`` by ``QueueingConfig.ready``.
    """
    job = get_current_job()
    if job is None:
        return {}
    fields: dict[str, Any] = {"job_id": job.id}
    try:
        kwargs = job.kwargs or {}
    except Exception:  # a job whose data cannot be read: RQ reports that itself
        kwargs = {}
    for key, value in kwargs.items():
        if (key == "run" or key.endswith("_id")) and isinstance(value, str | int):
            fields[key] = value
    if job.meta.get("request_id"):
        fields["request_id"] = job.meta["request_id"]
    return fields


def no_progress(stage: str, percent: int, attempt: int) -> None:
    return None


def report_progress(stage: str, percent: int, attempt: int) -> None:
    """Store stage/progress on the running RQ job (no-op outside a worker)."""
    job = get_current_job()
    if job is None:
        return
    job.meta.update({"stage": stage, "progress": percent, "attempt": attempt})
    job.save_meta()


class RunWaiting(Exception):
    """Raised to end a job try that waits: RQ schedules the same job again (see ``Waiting``)."""


@dataclass(frozen=True)
class Waiting:
    """How a job waits out an outage of a service it needs, instead of failing by the clock.

    ``errors`` are the service's transient errors. After one, ``keep_waiting(error, seconds
    waited since the first)`` decides: True and the run is scheduled again in
    ``first_delay * 2**n`` seconds (capped at ``max_delay``, jittered down to half) with ``stage``
    as its progress stage; False and it is a final failure (``on_final_failure``).

    With a ``breaker`` (``queueing.breaker``), a job that finds it open does not run ``work`` and
    waits the same way (``CircuitOpen``); each try's verdict is recorded on it, and a waiting job
    is held there so that closing it runs the job at once.
    """

    errors: tuple[type[Exception], ...]
    stage: str
    keep_waiting: Callable[[Exception, float], bool]
    first_delay: float
    max_delay: float
    breaker: CircuitBreaker | None = None
    # Errors that wait like the others but say nothing about the service's health (our own limits
    # being busy): they never count against the breaker.
    neutral_errors: tuple[type[Exception], ...] = ()

    def delay(self, waits: int) -> float:
        """The jittered delay before the ``waits``-th try after an error (1 for the first)."""
        ceiling = min(self.first_delay * 2 ** min(waits - 1, 30), self.max_delay)
        return ceiling * random.uniform(0.5, 1.0)


def job_run_tracked(
    work: Callable[[Progress], str],
    *,
    final_errors: tuple[type[Exception], ...] = (),
    on_final_failure: Callable[[Exception], None],
    waiting: Waiting | None = None,
) -> str:
    """Run ``work(progress)`` as one attempt of the current RQ job; returns its outcome word.

    An exception in ``final_errors`` means asking again will not help: the attempt is closed as
    "rejected", ``on_final_failure`` runs, and the job ends without an RQ retry ("failed"). One in
    ``waiting.errors`` closes the attempt as "waiting" and schedules the job again (raising
    ``RunWaiting``), until ``waiting.keep_waiting`` says no: then it is final like a rejection. Any
    other exception is recorded and re-raised so RQ retries; on the last retry
    ``on_final_failure`` runs first.
    """
    job = get_current_job()
    attempt = job_attempt_start(job_id=job.id, worker=str(job.worker_name or "")) if job else None
    wait_errors: tuple[type[Exception], ...] = (
        (*waiting.errors, CircuitOpen) if waiting is not None and job is not None else ()
    )
    breaker = waiting.breaker if waiting is not None and job is not None else None
    try:
        if breaker is not None and job is not None and not breaker.allow(job_id=job.id):
            raise CircuitOpen(f"the {breaker.name} breaker is open: no call made")
        outcome = work(report_progress)
    except final_errors as exc:
        if breaker is not None and job is not None:
            breaker.record_success(job_id=job.id)  # the service answered, if only to refuse
        job_attempt_finish(attempt=attempt, outcome="rejected", error=str(exc))
        on_final_failure(exc)
        return "failed"
    except wait_errors as exc:
        assert waiting is not None and job is not None
        if breaker is not None and isinstance(exc, waiting.neutral_errors):
            breaker.release_probe(job_id=job.id)  # the service was not asked
        elif breaker is not None and not isinstance(exc, CircuitOpen):
            breaker.record_failure(job_id=job.id)
        error = f"{type(exc).__name__}: {exc}"
        if not waiting.keep_waiting(exc, _waited_seconds(job)):
            job_attempt_finish(attempt=attempt, outcome="gave up waiting", error=error)
            on_final_failure(exc)
            return "failed"
        job_attempt_finish(
            attempt=attempt,
            outcome="held" if isinstance(exc, CircuitOpen) else "waiting",
            error=error,
            final=False,
        )
        probe_in = breaker.hold(job=job) if breaker is not None else None
        delay = probe_in if probe_in is not None else waiting.delay(int(job.meta.get("waits", 0)) + 1)
        raise _run_wait(job, waiting, delay=delay) from exc
    except Exception as exc:
        if breaker is not None and job is not None:
            breaker.release_probe(job_id=job.id)
        last_try = job is None or not job.retries_left
        job_attempt_finish(
            attempt=attempt, outcome="error", error=f"{type(exc).__name__}: {exc}", final=last_try
        )
        if last_try:
            logger.exception("job failed for good", extra={"job_id": job.id if job else None})
            on_final_failure(exc)
        raise
    if breaker is not None and job is not None:
        if outcome == "skipped":  # nothing was asked of the service
            breaker.release_probe(job_id=job.id)
        else:
            breaker.record_success(job_id=job.id)
    job_attempt_finish(attempt=attempt, outcome=outcome)
    report_progress("done", 100, 0)
    return outcome


def _waited_seconds(job: Job) -> float:
    """Seconds since this job first waited (0 now if it never did; the start is kept in ``job.meta``)."""
    since = float(job.meta.setdefault("waiting_since", time.time()))
    return max(0.0, time.time() - since)


def _run_wait(job: Job, waiting: Waiting, *, delay: float) -> RunWaiting:
    """Have RQ schedule ``job`` again in ``delay`` seconds when the error this returns is raised.

    One retry is added in front of the job's own (``retries_left`` and the intervals it has still
    to use), with ``delay`` as its interval; the worker's failure handling then schedules the job
    with RQ's scheduler and saves it, ``meta`` included.
    """
    seconds = max(1, math.ceil(delay))
    left = job.retries_left or 0
    intervals = list(job.retry_intervals or [0])
    # The interval RQ would use with k retries left, for each retry still to come (as Job.get_retry_interval).
    own = [intervals[max(len(intervals) - k, 0)] for k in range(left, 0, -1)]
    job.retry_intervals = [seconds, *own]
    job.retries_left = left + 1
    job.meta.update({"stage": waiting.stage, "waits": int(job.meta.get("waits", 0)) + 1})
    job.meta.setdefault("waiting_since", time.time())
    job.save_meta()
    logger.warning("job waiting for a service", extra={"job_id": job.id, "delay_seconds": seconds})
    return RunWaiting(f"scheduled again in {seconds} s")
