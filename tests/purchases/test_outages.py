"""An outage of the writing service delays orders instead of failing them by the clock.

Real PostgreSQL, Redis and RQ workers (with RQ's scheduler); the model is the fake OpenAI server.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from rq.job import Job, JobStatus

from purchases.jobs import writing_service_breaker
from purchases.models import EmailKind, EmailRecord, Order, OrderStatus
from purchases.services.runs import orders_reconcile
from queueing.models import JobRequest
from tests.conftest import signed_post
from tests.factories import GOOD_BACKLINK_REPLY, make_order

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = GOOD_BACKLINK_REPLY
DOWN = {"status": 503}


@pytest.fixture
def outage_settings(settings: Any) -> Any:
    settings.LLM_TRANSIENT_RETRIES = 0
    settings.LLM_OUTAGE_FIRST_DELAY_SECONDS = 1
    settings.LLM_OUTAGE_MAX_DELAY_SECONDS = 1
    return settings


def paid_order(api: Any, article: Any, fake_stripe: Any) -> tuple[Order, str]:
    """An order paid through the fake Stripe Checkout, its webhook delivered: PROCESSING, job queued."""
    order, token = make_order(article, anchor_text="memory foam pillows")
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    assert (
        signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id)).status_code
        == 200
    )
    order.refresh_from_db()
    return order, token


def rq_job(order: Order) -> Job:
    return Job.fetch(order.queue_job_id, connection=django_rq.get_connection("backlink-integration"))


def run_due(run_worker: Any) -> None:
    """Let the 1 s delay pass, then a burst worker (its scheduler enqueues what is due) runs it."""
    time.sleep(1.2)
    run_worker()


def test_a_model_outage_keeps_the_order_processing_and_waiting_without_holding_a_worker(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, outage_settings: Any
) -> None:
    fake_openai.default = lambda request: DOWN
    order, token = paid_order(api, article, fake_stripe)

    run_worker()  # returns: the worker is not asleep in the job

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert len(fake_openai.requests) == 1
    job = rq_job(order)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.meta["stage"] == "waiting for the writing service"
    body = api.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["queue"]["stage"] == "waiting for the writing service"
    assert JobRequest.objects.get(job_id=order.queue_job_id).state in ("enqueued", "running")
    # The reconciler sees a scheduled run, not a lost one.
    report = orders_reconcile(grace=timedelta(0), heartbeat_grace=timedelta(seconds=1))
    assert report.requeued == [] and report.abandoned == [] and report.created == []

    run_due(run_worker)  # still down: waits again
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert len(fake_openai.requests) == 2

    fake_openai.default = lambda request: GOOD
    run_due(run_worker)
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    assert order.drafts.count() == 1
    assert JobRequest.objects.get(job_id=order.queue_job_id).state == "done"


def test_an_outage_beyond_the_threshold_sends_one_delayed_email_per_order(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, outage_settings: Any
) -> None:
    outage_settings.LLM_OUTAGE_EMAIL_AFTER_SECONDS = 0
    fake_openai.default = lambda request: DOWN
    order, _ = paid_order(api, article, fake_stripe)
    run_worker()
    run_due(run_worker)
    run_due(run_worker)
    assert len(fake_openai.requests) == 3
    delayed = EmailRecord.objects.filter(order=order, kind=EmailKind.ORDER_DELAYED)
    assert delayed.count() == 1
    assert delayed.get().sent_at is not None


def test_a_short_outage_sends_no_delayed_email(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, outage_settings: Any
) -> None:
    fake_openai.default = lambda request: DOWN
    order, _ = paid_order(api, article, fake_stripe)
    run_worker()
    fake_openai.default = lambda request: GOOD
    run_due(run_worker)
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert not EmailRecord.objects.filter(order=order, kind=EmailKind.ORDER_DELAYED).exists()


def test_an_outage_past_the_patience_window_fails_the_order_and_refunds_it(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, outage_settings: Any
) -> None:
    outage_settings.LLM_OUTAGE_PATIENCE_SECONDS = 1
    fake_openai.default = lambda request: DOWN
    order, _ = paid_order(api, article, fake_stripe)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    run_due(run_worker)  # waited over 1 s: gives up
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.transitions.filter(to_status=OrderStatus.FAILED, reason__contains="unavailable").exists()
    assert EmailRecord.objects.filter(order=order, kind=EmailKind.ORDER_FAILED).count() == 1
    assert rq_job(order).get_status() != JobStatus.SCHEDULED


def test_a_refusal_during_a_wait_stays_final(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, outage_settings: Any
) -> None:
    outage_settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(DOWN, {"status": 400})
    order, _ = paid_order(api, article, fake_stripe)
    run_worker()
    run_due(run_worker)
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "refused" in order.failure_reason
    assert len(fake_openai.requests) == 2


def test_the_writing_service_breaker_tells_staff_once_when_it_opens_and_once_when_it_closes(
    settings: Any, mailoutbox: Any
) -> None:
    settings.LLM_BREAKER_THRESHOLD = 2
    breaker = writing_service_breaker()
    assert breaker is not None
    breaker.reset()
    for job_id in "abcd":
        breaker.record_failure(job_id=job_id)
    breaker.record_success(job_id="e")
    breaker.record_success(job_id="f")
    assert [m.subject.split("] ")[1] for m in mailoutbox] == [
        "Writing service unavailable: orders are waiting",
        "Writing service back: waiting orders resumed",
    ]
