"""RQ job functions for orders: load by id, call one service, report progress.

Thin adapters over ``queueing.runtime.job_run_tracked`` (attempt records, progress, the final
failure hook); retries are declared when the job is put on the queue (``queueing.enqueue``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.utils import timezone
from rq.job import get_current_job

from articles.openai_api import LLMRejected, LLMUnavailable
from articles.provider_limits import ProviderBusy
from purchases.actions import FINISH_DRAFT
from purchases.models import Order
from purchases.services.audit import paid_links_audit
from purchases.services.draft_run import order_draft_run
from purchases.services.failures import (
    order_fail,
    order_outage_wait,
    outage_failure_reason,
    writing_service_back_notify,
    writing_service_down_notify,
)
from purchases.services.lookup import order_lookup_answer, order_lookup_fail
from purchases.services.messages import order_messages_digest_overdue, order_messages_digest_send
from purchases.services.payments import order_receipt_fetch
from purchases.services.reconciliation import stripe_sessions_reconcile
from purchases.services.runs import QUEUE_FOR_KIND, orders_reconcile
from purchases.services.schedule import order_scheduled_publish, scheduled_publishes_enqueue
from purchases.status_messages import WAITING_STAGE
from queueing.breaker import CircuitBreaker, CircuitOpen
from queueing.models import JobRequest
from queueing.runtime import Progress, Waiting, job_run_tracked

logger = logging.getLogger(__name__)

OrderRun = Callable[..., str]


def writing_service_breaker() -> CircuitBreaker | None:
    """The writing service's breaker, shared by both order kinds' jobs (None with ``LLM_BREAKER_THRESHOLD`` 0).

    Staff are told once when it opens and once when it closes (the hooks run only for the one
    process that made the transition).
    """
    if settings.LLM_BREAKER_THRESHOLD <= 0:
        return None
    return CircuitBreaker(
        name="writing-service",
        threshold=settings.LLM_BREAKER_THRESHOLD,
        cooldown_seconds=settings.LLM_BREAKER_COOLDOWN_SECONDS,
        connection_queue=QUEUE_FOR_KIND[Order.Kind.ARTICLE],
        on_open=writing_service_down_notify,
        on_close=writing_service_back_notify,
    )


class RunOver(Exception):
    """An order job ran for a run that is over: the order is no longer PROCESSING on it. Nothing was done.

    Raised only inside an RQ worker, so RQ shows the job failed (with this message) rather than
    finished: a failed job requeued from the dashboard, or a stale copy, did nothing. The order is
    untouched; staff try a failed order again with the admin's named action.
    """

    def __init__(self, *, order_id: str, run: int) -> None:
        self.order_id = order_id
        super().__init__(
            f"Run {run} of order {order_id} is over; this job did nothing. "
            "Use Try again in the order's admin page."
        )


def order_job_run_over(*, job_id: str) -> RunOver | None:
    """Why running RQ job ``job_id`` again would do nothing: a ``RunOver`` for an order job whose
    run is over; None for any other job, or a run still current. Asked before a dashboard requeue."""
    request = JobRequest.objects.filter(job_id=job_id).first()
    if request is None or request.func not in ORDER_JOB_FUNCS:
        return None
    order = Order.objects.filter(pk=request.subject_id).first()
    if order is None or FINISH_DRAFT.run_may_finish(order, run=request.run):
        return None
    return RunOver(order_id=str(order.id), run=request.run)


def _order_run(service: OrderRun, *, order_id: str, run: int, what: str) -> str:
    """One tracked attempt of ``service``; the order fails when the model refuses or the last retry raises.

    A transient model error (``LLMUnavailable``) is waited out: the run is scheduled again and the
    order stays PROCESSING within ``LLM_OUTAGE_PATIENCE_SECONDS`` (``order_outage_wait``).
    A "skipped" run (over, or the wrong kind) is recorded as such, then raises ``RunOver`` in a worker,
    with no RQ retry left, so the job never shows finished; called outside a worker it returns "skipped".
    """

    def work(progress: Progress) -> str:
        return service(order_id=order_id, run=run, progress=progress)

    def fail(exc: Exception) -> None:
        if isinstance(exc, LLMUnavailable | CircuitOpen):
            order_fail(order_id=order_id, reason=f"{outage_failure_reason()} Last error: {exc}")
        elif isinstance(exc, LLMRejected):
            # A refusal or a bad request: asking again will not help, so no RQ retry. Staff are told.
            order_fail(order_id=order_id, reason=f"The language model refused the request: {exc}")
        else:
            order_fail(order_id=order_id, reason=f"The {what} job failed after its retries: {exc}")

    waiting = Waiting(
        errors=(LLMUnavailable,),
        stage=WAITING_STAGE,
        keep_waiting=lambda exc, waited: order_outage_wait(order_id=order_id, waited_seconds=waited),
        first_delay=settings.LLM_OUTAGE_FIRST_DELAY_SECONDS,
        max_delay=settings.LLM_OUTAGE_MAX_DELAY_SECONDS,
        breaker=writing_service_breaker(),
        # Our own provider limits being busy is not the writing service failing.
        neutral_errors=(ProviderBusy,),
    )
    outcome = job_run_tracked(work, final_errors=(LLMRejected,), on_final_failure=fail, waiting=waiting)
    job = get_current_job()
    if outcome == "skipped" and job is not None:
        job.retries_left = 0  # asking again cannot help: the run stays over
        raise RunOver(order_id=order_id, run=run)
    return outcome


def backlink_integration_job(*, order_id: str, run: int) -> str:
    """Integrate the customer's backlink for job run ``run`` of order ``order_id``.

    Idempotent: the service does nothing for an order that is no longer PROCESSING on this
    run, stores at most one draft per (order, run) and queues each email once. When the
    last RQ retry raises, the order is failed (customer and staff told) before re-raising.
    """
    service = partial(order_draft_run, order_kind=Order.Kind.BACKLINK)
    return _order_run(service, order_id=order_id, run=run, what="integration")


def article_generation_job(*, order_id: str, run: int) -> str:
    """Write the customer's sponsored article for job run ``run`` of order ``order_id``.

    Idempotent like the backlink job: nothing happens for an order that is no longer PROCESSING
    on this run, at most one draft is stored per (order, run), each email is queued once, and
    the order's Article is created only with its first passing draft. When the last RQ retry
    raises, the order is failed (customer and staff told) before re-raising.
    """
    service = partial(order_draft_run, order_kind=Order.Kind.ARTICLE)
    return _order_run(service, order_id=order_id, run=run, what="article generation")


ORDER_JOB_FUNCS = frozenset(
    f"{__name__}.{job.__name__}" for job in (backlink_integration_job, article_generation_job)
)


def order_receipt_job(*, order_id: str) -> str:
    """Store Stripe's receipt URL of a just-paid order (``order_receipt_fetch``; on ``maintenance``).

    Idempotent: an order that has its receipt is left alone. Stripe unreachable raises, and RQ
    retries (``RQ_RETRY_INTERVALS``); after the last retry the order simply has no receipt link.
    """
    return order_receipt_fetch(order_id=order_id)


def reconcile_orders_job() -> str:
    """Periodic (``blogorder/cron.py``): re-enqueue lost or abandoned runs, send unsent emails and
    the message digests whose job never ran."""
    summary = orders_reconcile().summary()
    return f"{summary}; overdue messages emailed {order_messages_digest_overdue()}"


def order_messages_digest_job(*, order_id: str, side: str) -> int:
    """Email the other side every message of ``side`` on the order not emailed yet, in one digest
    (``order_messages_digest_send``; on ``maintenance``, put there delayed after the first message).

    Idempotent: the messages are marked with their email under the order's row lock, so a second
    run (an RQ retry, a duplicate) finds none and sends nothing. Returns the messages it carried.
    """
    return order_messages_digest_send(order_id=order_id, side=side)


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
    report = paid_links_audit()
    return {"checked": report.checked, "problems": len(report.problems)}


def writing_service_probe_job() -> int:
    """Every minute (``blogorder/cron.py``): while the writing service's breaker is open and its
    cool-down is over, wake the held order jobs so one probes. Idempotent: with the breaker closed,
    still cooling down or a probe under way it does nothing. Returns the jobs woken."""
    breaker = writing_service_breaker()
    return breaker.release_for_probe() if breaker is not None else 0


def order_lookup_job(*, lookup_id: str) -> str:
    """Answer one "email me my orders" request: one email with the link, or nothing for an address
    without orders (``purchases/services/lookup.py``).

    Idempotent: the lookup row is claimed before sending and its outcome recorded after, so a
    second run (an RQ retry, the reconciler putting a lost job back) sends nothing again. A
    provider error is retried by RQ; after the last retry the lookup is marked failed.
    """

    def work(progress: Progress) -> str:
        return order_lookup_answer(lookup_id=lookup_id)

    def fail(exc: Exception) -> None:
        order_lookup_fail(lookup_id=lookup_id, error=f"{type(exc).__name__}: {exc}")

    return job_run_tracked(work, on_final_failure=fail)


def scheduled_publish_due_job() -> int:
    """Every minute (``blogorder/cron.py``): one ``scheduled_publish_job`` per scheduled order that is due.

    Idempotent: a job already queued for the same order and time is not put twice
    (``scheduled_publishes_enqueue``). Returns the jobs put.
    """
    return len(scheduled_publishes_enqueue())


def scheduled_publish_job(*, order_id: str) -> str:
    """Publish one due scheduled order (``order_scheduled_publish``), or send it back to the editors.

    Idempotent: it acts only on an order still SCHEDULED and due, under its row lock, and moves it out
    of SCHEDULED; a second run, or a run after a cancel or a move to later, does nothing ("skipped").
    """
    return order_scheduled_publish(order_id=order_id)
