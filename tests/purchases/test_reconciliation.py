"""Daily Stripe reconciliation: a paid Checkout Session whose webhook never arrived still gets its work."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_rq.cron import DjangoCronScheduler
from rq import SimpleWorker

from purchases.jobs import stripe_reconcile_job
from purchases.models import Order, OrderStatus
from purchases.services.reconciliation import stripe_sessions_reconcile
from queueing.models import JobRequest
from tests.conftest import signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def queued_job_ids() -> list[str]:
    return django_rq.get_queue("backlink-integration").job_ids


def since() -> Any:
    return timezone.now() - timedelta(hours=48)


def test_a_paid_session_whose_webhook_never_arrived_is_repaired_and_enqueued_once(
    article: Any, fake_stripe: Any
) -> None:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent="pi_lost")

    report = stripe_sessions_reconcile(since=since())

    assert (report.listed, report.repaired, report.ok, report.missing) == (1, 1, 0, [])
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.stripe_payment_intent_id == "pi_lost"
    assert order.transitions.get().source == "reconciler"
    assert queued_job_ids() == [order.queue_job_id]
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1


def test_running_it_again_changes_nothing(article: Any, fake_stripe: Any) -> None:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    stripe_sessions_reconcile(since=since())

    report = stripe_sessions_reconcile(since=since())

    assert (report.repaired, report.ok) == (0, 1)
    assert order.transitions.count() == 1
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1
    assert len(queued_job_ids()) == 1


def test_an_order_its_webhook_already_moved_is_counted_ok(api: Any, article: Any, fake_stripe: Any) -> None:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))

    report = stripe_sessions_reconcile(since=since())

    assert (report.listed, report.repaired, report.ok) == (1, 0, 1)
    assert order.transitions.count() == 1


def test_unpaid_and_older_sessions_are_left_alone(article: Any, fake_stripe: Any) -> None:
    unpaid, _ = make_order(article)
    old, _ = make_order(article)
    fake_stripe.mark_paid(old.stripe_checkout_session_id)
    fake_stripe.sessions[old.stripe_checkout_session_id]["created"] -= 72 * 3600

    report = stripe_sessions_reconcile(since=since())

    assert report.listed == 0
    statuses = set(Order.objects.filter(pk__in=[unpaid.pk, old.pk]).values_list("status", flat=True))
    assert statuses == {OrderStatus.PENDING_PAYMENT}


def test_an_order_that_failed_when_its_checkout_expired_is_paid_after_all(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, _ = make_order(article)
    signed_post(
        api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id, "checkout.session.expired")
    )
    fake_stripe.mark_paid(order.stripe_checkout_session_id)

    report = stripe_sessions_reconcile(since=since())

    assert report.repaired == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def test_a_paid_session_without_an_order_is_reported_to_staff(
    article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article, customer_email="lost@example.com")
    session_id = order.stripe_checkout_session_id
    fake_stripe.mark_paid(session_id)
    order.delete()

    report = stripe_sessions_reconcile(since=since())

    assert report.missing == [session_id]
    [notice] = [m for m in mailoutbox if "without an order" in m.subject]
    assert session_id in notice.body and "lost@example.com" in notice.body


def test_a_session_that_paid_1_jpy_for_a_usd_order_is_not_repaired_and_staff_are_told(
    article: Any, fake_stripe: Any, mailoutbox: Any, capsys: Any
) -> None:
    order, _ = make_order(article)
    session_id = order.stripe_checkout_session_id
    fake_stripe.mark_paid(session_id)
    fake_stripe.sessions[session_id].update(amount_total=1, currency="jpy")

    report = stripe_sessions_reconcile(since=since())

    assert (report.repaired, report.ok, report.mismatched) == (0, 0, [session_id])
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.paid_at is None
    assert queued_job_ids() == []
    [notice] = [m for m in mailoutbox if f"Payment does not match order {order.id}" in m.subject]
    assert session_id in notice.body and "1 JPY" in notice.body


def test_every_page_of_sessions_is_read(article: Any, fake_stripe: Any) -> None:
    order, _ = make_order(article)
    template = fake_stripe.mark_paid(order.stripe_checkout_session_id)
    for n in range(120):
        fake_stripe.sessions[f"cs_test_other_{n}"] = {**template, "id": f"cs_test_other_{n}"}

    report = stripe_sessions_reconcile(since=since())

    assert report.listed == 121
    assert report.repaired == 1


def test_the_command_prints_the_report(article: Any, fake_stripe: Any) -> None:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    out = io.StringIO()

    call_command("reconcile_stripe", "--hours", "24", stdout=out)

    assert "Paid Checkout Sessions in the last 24 h: 1; repaired 1, already right 0, without an order 0." in (
        out.getvalue()
    )


def test_the_command_says_there_is_nothing_to_list_in_local_test_mode(
    db: Any, local_test_payments: Any
) -> None:
    out = io.StringIO()
    call_command("reconcile_stripe", stdout=out)
    assert "local TEST MODE" in out.getvalue()
    assert "no Checkout Sessions to list" in out.getvalue()


def test_the_command_fails_loudly_when_stripe_is_down(fake_stripe: Any) -> None:
    fake_stripe.fail_next(503, headers={"Stripe-Should-Retry": "false"})
    with pytest.raises(CommandError, match="Stripe could not list Checkout Sessions"):
        call_command("reconcile_stripe", stdout=io.StringIO())


def test_the_cron_config_runs_the_reconcilers_on_the_maintenance_queue(db: Any) -> None:
    scheduler = DjangoCronScheduler()
    scheduler.load_config_from_file("blogorder.cron")

    jobs = {job.func_name: job for job in scheduler.get_jobs()}
    orders = jobs["purchases.jobs.reconcile_orders_job"]
    assert (orders.queue_name, orders.interval) == ("maintenance", 60)
    job = jobs["purchases.jobs.stripe_reconcile_job"]

    assert job.func_name == "purchases.jobs.stripe_reconcile_job"
    assert job.queue_name == "maintenance"
    assert job.cron == "17 3 * * *"
    assert job.kwargs == {"hours": 48}


def test_the_reconciliation_job_repairs_orders_on_a_real_worker(article: Any, fake_stripe: Any) -> None:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    queue = django_rq.get_queue("maintenance")
    job = queue.enqueue(stripe_reconcile_job, hours=48)

    SimpleWorker([queue], connection=queue.connection).work(burst=True)

    job.refresh()
    assert job.return_value() == {"listed": 1, "repaired": 1, "ok": 0, "missing": 0}
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING


def paid_by_webhook(api: Any, article: Any, fake_stripe: Any, payment_intent: str) -> Order:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent=payment_intent)
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    return order


def refund_at_stripe(
    fake_stripe: Any, order: Order, *, amount: int, status: str = "succeeded"
) -> dict[str, Any]:
    """A refund made in the Stripe dashboard, whose webhooks never reached us."""
    refund = {
        "id": f"re_dash_{len(fake_stripe.refunds)}",
        "object": "refund",
        "amount": amount,
        "charge": "ch_dash",
        "created": int(timezone.now().timestamp()),
        "currency": order.currency,
        "metadata": {},
        "payment_intent": order.stripe_payment_intent_id,
        "status": status,
        "failure_reason": "lost_or_stolen_card" if status == "failed" else None,
    }
    fake_stripe.refunds.append(refund)
    return refund


def test_a_full_refund_whose_webhook_was_lost_refunds_the_order(
    api: Any, article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid_by_webhook(api, article, fake_stripe, "pi_full")
    refund_at_stripe(fake_stripe, order, amount=order.amount_minor)

    report = stripe_sessions_reconcile(since=since())

    order.refresh_from_db()
    assert (order.status, order.refunded_amount, order.refund_status) == (
        OrderStatus.REFUNDED,
        order.amount,
        "succeeded",
    )
    assert report.refunds_repaired == 1
    assert stripe_sessions_reconcile(since=since()).refunds_repaired == 0  # idempotent


def test_a_partial_refund_and_a_failed_one_whose_webhooks_were_lost_are_recorded_and_told(
    api: Any, article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid_by_webhook(api, article, fake_stripe, "pi_part")
    refund_at_stripe(fake_stripe, order, amount=100)
    refund_at_stripe(fake_stripe, order, amount=200, status="failed")

    report = stripe_sessions_reconcile(since=since())

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.amount_minor - order.refundable_minor == 100  # the failed one gave nothing back
    assert (order.stripe_refund_id, order.refund_status) == ("re_dash_1", "failed")
    assert report.refunds_repaired == 1
    subjects = [m.subject for m in mailoutbox]
    assert f"[Blogorder] Refund failed on order {order.id}" in subjects
    assert f"[Blogorder] Partial refund on order {order.id}" in subjects
    again = len(mailoutbox)
    assert stripe_sessions_reconcile(since=since()).refunds_repaired == 0
    assert len(mailoutbox) == again


def test_a_dispute_whose_webhook_was_lost_flags_the_order_and_tells_staff_once(
    api: Any, article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid_by_webhook(api, article, fake_stripe, "pi_disputed")
    dispute = fake_stripe.add_dispute("pi_disputed", status="lost")

    report = stripe_sessions_reconcile(since=since())

    order.refresh_from_db()
    assert (order.dispute_id, order.dispute_status, report.disputes_repaired) == (dispute["id"], "lost", 1)
    assert [m.subject for m in mailoutbox if "Dispute" in m.subject] == [
        f"[Blogorder] Dispute on order {order.id} closed: lost"
    ]
    assert stripe_sessions_reconcile(since=since()).disputes_repaired == 0
