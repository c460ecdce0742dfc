"""What one paid checkout costs the database: the webhook's statements, counted."""

from __future__ import annotations

from typing import Any

import django_rq
import pytest

from purchases.models import Order, OrderStatus
from queueing.models import JobRequest, JobState
from tests.conftest import signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

# Every statement of one signed checkout.session.completed, the after-commit enqueue included:
# BEGIN, the event row (INSERT … ON CONFLICT DO NOTHING, no savepoint), the order found and locked
# in one statement that also says whether an early refund waits (order_lock_for_checkout_session;
# order_mark_paid joins the transaction without a savepoint), the slots counted, the outbox row
# (written ENQUEUED), one UPDATE of the order (status, payment, job run), its transition, the
# outcome recorded, COMMIT. Nothing after the commit but Redis. (21 before issue 13, then 19, 13.)
WEBHOOK_STATEMENTS = 9


def test_a_paid_checkout_costs_the_webhook_a_fixed_number_of_statements(
    api: Any, article: Any, fake_stripe: Any, django_assert_max_num_queries: Any
) -> None:
    warm, _ = make_order(article)  # the first request of a process sets up its connections
    fake_stripe.mark_paid(warm.stripe_checkout_session_id)
    assert (
        signed_post(api, fake_stripe.checkout_session_event(warm.stripe_checkout_session_id)).status_code
        == 200
    )
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    payload = fake_stripe.checkout_session_event(order.stripe_checkout_session_id)

    with django_assert_max_num_queries(WEBHOOK_STATEMENTS):
        answer = signed_post(api, payload)

    assert answer.json() == {"received": True, "outcome": "paid"}
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING and order.job_runs == 1
    request = JobRequest.objects.get(job_id=order.queue_job_id)
    assert (request.state, request.enqueue_count) == (JobState.ENQUEUED, 1)
    assert request.last_enqueued_at is not None
    assert django_rq.get_queue("backlink-integration").fetch_job(order.queue_job_id) is not None
    assert Order.objects.filter(pk=order.pk, queue_job_id=request.job_id).exists()


def test_a_paid_checkout_puts_its_two_jobs_in_two_round_trips_to_redis(
    api: Any, article: Any, fake_stripe: Any, redis_round_trips: Any
) -> None:
    """The integration and the receipt fetch, each one MULTI/EXEC (RQ alone sends two a job)."""
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    payload = fake_stripe.checkout_session_event(order.stripe_checkout_session_id)

    with redis_round_trips() as sent:
        answer = signed_post(api, payload)

    assert answer.json() == {"received": True, "outcome": "paid"}
    order.refresh_from_db()
    assert django_rq.get_queue("backlink-integration").fetch_job(order.queue_job_id) is not None
    assert django_rq.get_queue("maintenance").fetch_job(f"receipt-{order.id}") is not None
    assert len(sent) == 2, sent
