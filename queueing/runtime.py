"""What runs around every job function: attempt records, progress, and the final-failure hook.

A job function (the app's thin adapter) hands its work to ``job_run_tracked``; each worker
execution becomes a ``JobAttempt`` of the job's ``JobRequest``, so staff see every attempt and its
error and the reconciler knows which runs finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rq.job import get_current_job

from queueing.services import job_attempt_finish, job_attempt_start

logger = logging.getLogger(__name__)

# progress(stage, percent, attempt): what a job reports while its service runs.
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, percent: int, attempt: int) -> None:
    return None


def report_progress(stage: str, percent: int, attempt: int) -> None:
    """Store stage/progress on the running RQ job (no-op outside a worker)."""
    job = get_current_job()
    if job is None:
        return
    job.meta.update({"stage": stage, "progress": percent, "attempt": attempt})
    job.save_meta()


def job_run_tracked(
    work: Callable[[Progress], str],
    *,
    final_errors: tuple[type[Exception], ...] = (),
    on_final_failure: Callable[[Exception], None],
) -> str:
    """Run ``work(progress)`` as one attempt of the current RQ job; returns its outcome word.

    An exception in ``final_errors`` means asking again will not help: the attempt is closed as
    "rejected", ``on_final_failure`` runs, and the job ends without an RQ retry ("failed"). Any
    other exception is recorded and re-raised so RQ retries; on the last retry
    ``on_final_failure`` runs first.
    """
    job = get_current_job()
    attempt = job_attempt_start(job_id=job.id, worker=str(job.worker_name or "")) if job else None
    try:
        outcome = work(report_progress)
    except final_errors as exc:
        job_attempt_finish(attempt=attempt, outcome="rejected", error=str(exc))
        on_final_failure(exc)
        return "failed"
    except Exception as exc:
        last_try = job is None or not job.retries_left
        job_attempt_finish(
            attempt=attempt, outcome="error", error=f"{type(exc).__name__}: {exc}", final=last_try
        )
        if last_try:
            logger.exception("job failed for good", extra={"job_id": job.id if job else None})
            on_final_failure(exc)
        raise
    job_attempt_finish(attempt=attempt, outcome=outcome)
    report_progress("done", 100, 0)
    return outcome
