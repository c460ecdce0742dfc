"""RQ job functions: load by id, call one service, report progress. Retries are declared at enqueue.

Each run is recorded in the outbox (``JobRequest`` / ``JobAttempt``), so staff see every
attempt and its error, and the reconciler knows which runs finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rq.job import get_current_job

from purchases.services.failures import order_fail
from purchases.services.generation import order_generate_article
from purchases.services.integration import order_integrate_backlink
from queueing.progress import report_progress
from queueing.services import job_attempt_finish, job_attempt_start

logger = logging.getLogger(__name__)

OrderRun = Callable[..., str]


def _run_tracked(service: OrderRun, *, order_id: str, run: int, what: str) -> str:
    """Run ``service`` for one job run with attempt records; fail the order when the last retry raises."""
    job = get_current_job()
    attempt = job_attempt_start(job_id=job.id, worker=str(job.worker_name or "")) if job else None
    try:
        outcome = service(order_id=order_id, run=run, progress=report_progress)
    except Exception as exc:
        last_try = job is None or not job.retries_left
        job_attempt_finish(
            attempt=attempt, outcome="error", error=f"{type(exc).__name__}: {exc}", final=last_try
        )
        if last_try:
            logger.exception("job failed for good", extra={"order_id": order_id, "run": run})
            order_fail(order_id=order_id, reason=f"The {what} job failed after its retries: {exc}")
        raise
    job_attempt_finish(attempt=attempt, outcome=outcome)
    report_progress("done", 100, 0)
    return outcome


def backlink_integration_job(*, order_id: str, run: int) -> str:
    """Integrate the customer's backlink for job run ``run`` of order ``order_id``.

    Idempotent: the service does nothing for an order that is no longer PROCESSING on this
    run, stores at most one version per (order, run) and queues each email once. When the
    last RQ retry raises, the order is failed (customer and staff told) before re-raising.
    """
    return _run_tracked(order_integrate_backlink, order_id=order_id, run=run, what="integration")


def article_generation_job(*, order_id: str, run: int) -> str:
    """Write the customer's sponsored article for job run ``run`` of order ``order_id``.

    Idempotent like the backlink job: nothing happens for an order that is no longer PROCESSING
    on this run, at most one version is stored per (order, run), each email is queued once, and
    the order's Article is created only with its first passing draft. When the last RQ retry
    raises, the order is failed (customer and staff told) before re-raising.
    """
    return _run_tracked(order_generate_article, order_id=order_id, run=run, what="article generation")
