"""RQ job functions: load by id, call one service, report progress. Retries are declared at enqueue.

Each run is recorded in the outbox (``JobRequest`` / ``JobAttempt``), so staff see every
attempt and its error, and the reconciler knows which runs finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.utils import timezone
from rq.job import get_current_job

from articles.openai_api import LLMRejected
from purchases.models import Order
from purchases.services.draft_run import order_draft_run
from purchases.services.failures import order_fail
from purchases.services.reconciliation import stripe_sessions_reconcile
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
    except LLMRejected as exc:
        # A refusal or a bad request: asking again will not help, so no RQ retry. Staff are told.
        job_attempt_finish(attempt=attempt, outcome="rejected", error=str(exc))
        order_fail(order_id=order_id, reason=f"The language model refused the request: {exc}")
        return "failed"
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
    service = partial(order_draft_run, order_kind=Order.Kind.BACKLINK)
    return _run_tracked(service, order_id=order_id, run=run, what="integration")


def article_generation_job(*, order_id: str, run: int) -> str:
    """Write the customer's sponsored article for job run ``run`` of order ``order_id``.

    Idempotent like the backlink job: nothing happens for an order that is no longer PROCESSING
    on this run, at most one version is stored per (order, run), each email is queued once, and
    the order's Article is created only with its first passing draft. When the last RQ retry
    raises, the order is failed (customer and staff told) before re-raising.
    """
    service = partial(order_draft_run, order_kind=Order.Kind.ARTICLE)
    return _run_tracked(service, order_id=order_id, run=run, what="article generation")


def reconcile_orders_job() -> str:
    """Periodic (``blogorder/cron.py``): re-enqueue lost or abandoned runs, send unsent emails."""
    from queueing.reconcile import orders_reconcile

    return orders_reconcile().summary()


def stripe_reconcile_job(*, hours: int = 48) -> dict[str, int]:
    """Daily (see ``blogorder/cron.py``): repair orders whose paid Checkout Session webhook never came.

    Idempotent: an order is marked paid only once, so overlapping windows and reruns are harmless.
    Raises when Stripe cannot be reached, so the failure shows in the RQ dashboard.
    """
    report = stripe_sessions_reconcile(since=timezone.now() - timedelta(hours=hours))
    return {
        "listed": report.listed,
        "repaired": report.repaired,
        "ok": report.ok,
        "missing": len(report.missing),
    }


def paid_links_audit_job() -> dict[str, int]:
    """Nightly (``blogorder/cron.py``): every paid link still live, once, with its rel; staff told otherwise."""
    from purchases.services.audit import paid_links_audit

    report = paid_links_audit()
    return {"checked": report.checked, "problems": len(report.problems)}
