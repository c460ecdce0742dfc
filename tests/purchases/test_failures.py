"""Staff retry of a failed order: the retry action, its service, its review-page button and bulk action."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import django_rq
import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone
from rq import Retry
from rq.job import JobStatus

from purchases.actions import PermissionRequired
from purchases.errors import ActionNotAllowed
from purchases.models import Order, OrderStatus, OrderTransition
from purchases.services.failures import order_retry
from queueing.models import JobRequest, JobState
from tests.conftest import checkout_event, outbox_for, signed_post
from tests.factories import GOOD_BACKLINK_REPLY, make_order

NO_MARK = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches in the morning, memory foam pillows can help keep your spine aligned at night.",
    }
)
GOOD = GOOD_BACKLINK_REPLY


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


def failed_after_payment(article: Any, **fields: Any) -> Order:
    """A paid order whose run failed for good (set directly: the flow itself is tested elsewhere)."""
    order, _ = make_order(article)
    failed = {
        "status": OrderStatus.FAILED,
        "paid_at": timezone.now(),
        "stripe_payment_intent_id": "pi_123",
        "job_runs": 1,
        "failure_reason": "Quality checks failed 3 times",
    }
    Order.objects.filter(pk=order.pk).update(**{**failed, **fields})
    order.refresh_from_db()
    return order


def retry_url(order: Order) -> str:
    return f"/admin/purchases/order/{order.id}/retry/"


@pytest.mark.django_db(transaction=True)
def test_staff_retry_a_failed_paid_order_from_the_review_page_and_it_is_drafted_again(
    api: Any,
    client: Any,
    article: Any,
    fake_openai: Any,
    run_worker: Any,
    editor: User,
    mailoutbox: Any,
    settings: Any,
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK, GOOD)
    order, _ = make_order(article)
    signed_post(api, checkout_event(order, event_id="evt_retry"))
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    client.force_login(editor)
    assert retry_url(order) in client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()

    response = client.post(retry_url(order), {"reason": "the model had a bad day; try once more"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.failure_reason, order.job_runs) == (OrderStatus.PROCESSING, "", 2)
    retry = JobRequest.objects.get(subject_id=order.id, run=2)
    assert (retry.purpose, retry.job_id) == (JobRequest.Purpose.RETRY, f"backlink-{order.id}-run-2")
    move = OrderTransition.objects.filter(order=order).last()
    assert move is not None
    assert (move.from_status, move.to_status, move.source, move.actor, move.reason) == (
        "FAILED",
        "PROCESSING",
        "staff",
        editor,
        "Try again: the model had a bad day; try once more",
    )
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert [m.subject for m in outbox_for(order)] == [
        "We could not complete your order",
        "Your backlink is ready for review",
    ]


@pytest.mark.django_db
def test_the_bulk_action_retries_each_failed_paid_order(client: Any, article: Any, editor: User) -> None:
    orders = [failed_after_payment(article) for _ in range(2)]
    client.force_login(editor)

    response = client.post(
        "/admin/purchases/order/",
        {
            "action": "retry",
            "_selected_action": [str(o.id) for o in orders],
            "apply": "1",
            "reason": "the writing service is back",
        },
    )

    assert response.status_code == 302
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.PROCESSING
        assert JobRequest.objects.get(subject_id=order.id, run=2).purpose == JobRequest.Purpose.RETRY
        move = OrderTransition.objects.filter(order=order).last()
        assert move is not None
        assert (move.actor, move.reason) == (editor, "Try again: the writing service is back")


@pytest.mark.django_db
def test_try_again_without_a_reason_asks_for_one_and_changes_nothing(
    client: Any, article: Any, editor: User
) -> None:
    order = failed_after_payment(article)
    client.force_login(editor)

    page = client.post(retry_url(order), {"reason": ""})

    assert page.status_code == 200
    assert "Why try again" in page.content.decode()
    order.refresh_from_db()
    assert (order.status, order.job_runs) == (OrderStatus.FAILED, 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"paid_at": None}, "This order failed before it was paid, so there is nothing to retry."),
        ({"refunded_amount": Decimal("10.00")}, "Part of this order was refunded; refund the rest instead"),
        ({"status": OrderStatus.REFUNDED}, "Only failed orders can be retried (now REFUNDED)."),
        ({"status": OrderStatus.QUALITY_CHECK}, "Only failed orders can be retried (now QUALITY_CHECK)."),
    ],
)
def test_only_a_failed_order_paid_and_not_refunded_can_be_retried(
    client: Any, article: Any, editor: User, fields: dict[str, Any], refusal: str
) -> None:
    order = failed_after_payment(article, **fields)
    client.force_login(editor)

    with pytest.raises(ActionNotAllowed) as refused:
        order_retry(order_id=order.id, actor=editor, reason="again")

    assert refused.value.message.startswith(refusal)
    assert retry_url(order) not in client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    client.post(retry_url(order), {"reason": "again"})
    before = order.status
    order.refresh_from_db()
    assert (order.status, order.job_runs) == (before, 1)


@pytest.mark.django_db
def test_a_retry_while_a_run_is_still_open_is_refused(article: Any, editor: User) -> None:
    order = failed_after_payment(article)
    JobRequest.objects.create(
        subject_id=order.id,
        run=1,
        job_id=f"backlink-{order.id}-run-1",
        queue="backlink-integration",
        func="purchases.jobs.backlink_integration_job",
        kwargs={"order_id": str(order.id), "run": 1},
        state=JobState.RUNNING,
    )

    with pytest.raises(ActionNotAllowed, match="A draft is already being written for this order."):
        order_retry(order_id=order.id, actor=editor, reason="again")

    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED


@pytest.mark.django_db
def test_staff_who_may_not_change_orders_see_why_and_cannot_retry(client: Any, article: Any) -> None:
    order = failed_after_payment(article)
    viewer = User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_order", content_type__app_label="purchases")
    )
    viewer = User.objects.get(pk=viewer.pk)
    client.force_login(viewer)

    with pytest.raises(PermissionRequired):
        order_retry(order_id=order.id, actor=viewer, reason="again")
    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    client.post(retry_url(order), {"reason": "again"})

    assert "Retrying a failed order needs the “Can change order” permission." in page
    assert retry_url(order) not in page
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED


def stale_order_job(order: Order) -> Any:
    """The order's failed run-1 job put on RQ again (as a stale copy would), with its RQ retries."""
    JobRequest.objects.create(
        subject_id=order.id,
        run=1,
        job_id=f"backlink-{order.id}-run-1",
        queue="backlink-integration",
        func="purchases.jobs.backlink_integration_job",
        kwargs={"order_id": str(order.id), "run": 1},
        state=JobState.FAILED,
    )
    queue = django_rq.get_queue("backlink-integration")
    return queue.enqueue_call(
        "purchases.jobs.backlink_integration_job",
        kwargs={"order_id": str(order.id), "run": 1},
        job_id=f"backlink-{order.id}-run-1",
        retry=Retry(max=3, interval=[0, 0, 0]),
    )


@pytest.mark.django_db(transaction=True)
def test_a_job_for_a_run_that_is_over_fails_in_rq_without_retries_and_touches_nothing(
    article: Any, run_worker: Any, editor: User, fake_openai: Any, mailoutbox: Any
) -> None:
    order = failed_after_payment(article)
    job = stale_order_job(order)

    run_worker()

    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert job.id in django_rq.get_queue("backlink-integration").failed_job_registry.get_job_ids()
    assert "RunOver: Run 1 of order" in (job.latest_result().exc_string or "")
    assert "Use Try again in the order's admin page." in (job.latest_result().exc_string or "")
    (request_row,) = JobRequest.objects.filter(subject_id=order.id)
    assert request_row.state == JobState.FAILED  # closed already: it keeps its state
    assert [a.outcome for a in request_row.attempts.all()] == [
        "skipped"
    ]  # no RQ retry: asking again cannot help
    order.refresh_from_db()
    assert (order.status, order.job_runs, order.failure_reason) == (
        OrderStatus.FAILED,
        1,
        "Quality checks failed 3 times",
    )
    assert fake_openai.requests == [] and mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_requeueing_a_failed_order_job_from_the_rq_dashboard_is_refused_and_points_to_try_again(
    article: Any, run_worker: Any, editor: User, fake_openai: Any, client: Any
) -> None:
    order = failed_after_payment(article)
    job = stale_order_job(order)
    run_worker()
    client.force_login(editor)

    response = client.post(
        f"/admin/django_rq/dashboard/queues/1/{job.id}/requeue/", {"requeue": "Requeue"}, follow=True
    )

    assert response.redirect_chain == [(f"/admin/purchases/order/{order.id}/change/", 302)]
    page = response.content.decode()
    assert "Run 1 of order" in page and "Use Try again in the order&#x27;s admin page." in page
    assert job.id in django_rq.get_queue("backlink-integration").failed_job_registry.get_job_ids()
    run_worker()
    attempts = JobRequest.objects.get(subject_id=order.id, run=1).attempts.all()
    assert [a.outcome for a in attempts] == ["skipped"]  # not run again
    order.refresh_from_db()
    assert (order.status, order.job_runs) == (OrderStatus.FAILED, 1)
    assert fake_openai.requests == []

    client.post(retry_url(order), {"reason": "requeueing did nothing; trying again"})
    order.refresh_from_db()
    assert (order.status, order.job_runs) == (OrderStatus.PROCESSING, 2)


@pytest.mark.django_db(transaction=True)
def test_requeueing_an_order_job_from_the_rq_dashboard_in_bulk_runs_it_and_it_fails_again_saying_why(
    article: Any, run_worker: Any, editor: User, fake_openai: Any, client: Any
) -> None:
    order = failed_after_payment(article)
    job = stale_order_job(order)
    run_worker()
    client.force_login(editor)

    response = client.post("/admin/django_rq/dashboard/queues/1/requeue-all/", {"requeue": "Requeue"})
    assert response.status_code == 302
    run_worker()

    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "Use Try again in the order's admin page." in (job.latest_result().exc_string or "")
    attempts = JobRequest.objects.get(subject_id=order.id, run=1).attempts.all()
    assert [a.outcome for a in attempts] == ["skipped", "skipped"]
    order.refresh_from_db()
    assert (order.status, order.job_runs) == (OrderStatus.FAILED, 1)
    assert fake_openai.requests == []
