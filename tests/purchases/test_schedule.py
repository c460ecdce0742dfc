"""Scheduled publishing: staff schedule, move and cancel; the periodic job publishes on a real worker."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone
from django_rq.cron import DjangoCronScheduler

from articles.models import Article
from purchases.actions import REFUND, PermissionRequired
from purchases.catalog.selectors import article_slots_used
from purchases.errors import ActionNotAllowed, InvalidField
from purchases.jobs import scheduled_publish_due_job
from purchases.models import EmailKind, EmailRecord, Order, OrderStatus, OrderTransition
from purchases.monitoring import scheduled_publish_overdue_check
from purchases.services.refunds import order_refund
from purchases.services.review import order_approve_and_publish
from purchases.services.schedule import (
    order_schedule_cancel,
    order_schedule_move,
    order_schedule_publish,
    order_scheduled_publish,
)
from tests.conftest import outbox_for
from tests.factories import make_published_article
from tests.purchases.test_faults import worker_process
from tests.purchases.test_review import (
    REWRITES_PARAGRAPH_3,
    auth,
    drafted,
    editor,
    links_to,
    published_body,
    reply,
    reviewer,
    submitted,
)

__all__ = ["editor", "reviewer"]  # fixtures

pytestmark = pytest.mark.django_db(transaction=True)

S = OrderStatus


def scheduled_soon(order: Order, actor: User, *, seconds: float = 1.0) -> datetime:
    """Schedule ``order`` ``seconds`` ahead, then wait until that time has come."""
    publish_at = timezone.now() + timedelta(seconds=seconds)
    order_schedule_publish(order_id=order.id, actor=actor, publish_at=publish_at)
    time.sleep(max(0.0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    return publish_at


def staff_mail(subject_start: str) -> list[Any]:
    return [m for m in mail.outbox if "editors@localhost" in m.to and subject_start in m.subject]


@pytest.mark.postgres  # the worker process shares the test database
def test_a_scheduled_order_is_published_by_the_periodic_job_on_a_real_rqworker(
    api: Any, article: Any, run_worker: Any, editor: User
) -> None:
    order, token = submitted(api, article, run_worker, "evt_sched")
    publish_at = timezone.now() + timedelta(seconds=2)
    order_schedule_publish(order_id=order.id, actor=editor, publish_at=publish_at)

    status = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()
    assert status["status"] == "SCHEDULED"
    assert status["statusLabel"] == "Scheduled"
    assert "scheduled for" in status["statusMessage"] and "UTC" in status["statusMessage"]
    assert datetime.fromisoformat(status["publishAt"]) == publish_at
    assert status["actions"] == []
    assert scheduled_publish_due_job() == 0  # not due yet: nothing is queued

    time.sleep(max(0.0, (publish_at - timezone.now()).total_seconds()) + 0.05)
    assert scheduled_publish_due_job() == 1
    assert scheduled_publish_due_job() == 0  # the same order and time is not queued twice
    worker = worker_process(queues=("maintenance",))
    try:
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)

    order.refresh_from_db()
    assert order.status == S.PUBLISHED
    assert order.publish_at is None and order.scheduled_by is None
    assert links_to(published_body(article), order.target_url) == 1
    move = OrderTransition.objects.get(order=order, to_status=S.PUBLISHED)
    assert (move.from_status, move.source, move.actor) == (S.SCHEDULED, "system", editor)
    assert "scheduled for" in move.reason
    email = EmailRecord.objects.get(order=order, kind=EmailKind.PUBLISHED)
    assert email.sent_at is not None  # the usual "your link is live", sent by the worker
    assert Article.objects.get(pk=article.pk).published_version.published_by == editor  # type: ignore[union-attr]
    # A second run of the job (a retry, a stale copy) finds nothing to do.
    assert order_scheduled_publish(order_id=order.id) == "skipped"


def test_a_scheduled_publish_that_meets_a_changed_paragraph_reruns_and_tells_the_editors(
    api: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User, mailoutbox: Any
) -> None:
    fake_openai.script(REWRITES_PARAGRAPH_3, reply(3), reply(7))
    order_a, _ = submitted(api, article, run_worker, "evt_a")
    order_b, token_b = submitted(api, article, run_worker, "evt_b")
    publish_at = timezone.now() + timedelta(seconds=1)
    order_schedule_publish(order_id=order_b.id, actor=editor, publish_at=publish_at)
    # While B waits, A is published and rewrites the paragraph B's link hangs on.
    order_approve_and_publish(order_id=order_a.id, actor=editor)
    time.sleep(max(0.0, (publish_at - timezone.now()).total_seconds()) + 0.05)

    assert scheduled_publish_due_job() == 1
    run_worker()  # the scheduled publish, then the re-run it starts

    order_b.refresh_from_db()
    assert order_b.status == S.QUALITY_CHECK
    assert order_b.current_version.backlink_metadata["integration_type"] == "customer_backlink_rebase"  # type: ignore[union-attr]
    move = OrderTransition.objects.get(order=order_b, from_status=S.SCHEDULED)
    assert (move.to_status, move.source) == (S.PROCESSING, "system")
    assert "changed under the link's paragraph" in move.reason and "scheduled for" in move.reason
    (note,) = staff_mail("Scheduled publish re-placing the link")
    assert "re-integrated" in note.body and f"/admin/purchases/order/{order_b.id}/change/" in note.body
    body = published_body(article)
    assert links_to(body, order_a.target_url) == 1
    assert links_to(body, order_b.target_url) == 0  # nothing of B went live
    assert "Your link is live" not in [m.subject for m in outbox_for(order_b)]


def test_a_scheduled_order_whose_article_was_unpublished_goes_back_to_the_editors_with_the_reason(
    api: Any, article: Any, run_worker: Any, editor: User, mailoutbox: Any
) -> None:
    order, token = submitted(api, article, run_worker, "evt_gone")
    scheduled_soon(order, editor)
    Article.objects.filter(pk=article.pk).update(published_version=None)

    assert scheduled_publish_due_job() == 1
    run_worker()

    order.refresh_from_db()
    assert order.status == S.ADMIN_REVIEW
    assert order.publish_at is None
    move = order.transitions.order_by("-created_at", "-id").first()
    assert move is not None and (move.from_status, move.source) == (S.SCHEDULED, "system")
    assert "no longer published" in move.reason
    (note,) = staff_mail("Scheduled publish did not happen")
    assert "no longer published" in note.body
    assert not EmailRecord.objects.filter(order=order, kind=EmailKind.PUBLISHED).exists()
    status = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()
    assert status["status"] == "ADMIN_REVIEW" and status["publishAt"] is None


def test_staff_schedule_move_and_cancel_from_the_review_page_in_the_sites_time_zone(
    client: Any, api: Any, article: Any, run_worker: Any, editor: User, settings: Any
) -> None:
    settings.TIME_ZONE = "Europe/Paris"
    order, token = submitted(api, article, run_worker, "evt_admin")
    client.force_login(editor)
    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    assert "Approve &amp; schedule" in page and "time zone, Europe/Paris" in page
    paris = timezone.now().astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=2)
    typed = paris.strftime("%Y-%m-%dT%H:%M")

    answer = client.post(f"/admin/purchases/order/{order.id}/schedule/", {"publish_at": typed}, follow=True)
    assert f"approved; publishes on {paris.day} {paris:%b %Y} at {paris:%H:%M} CE" in answer.content.decode()

    order.refresh_from_db()
    assert order.status == S.SCHEDULED
    assert order.publish_at == paris.replace(second=0, microsecond=0)
    assert order.scheduled_by == editor
    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    assert "Publishes on" in page and ("CET" in page or "CEST" in page)
    assert "Approve &amp; publish" not in page
    assert article_slots_used(article_id=article.pk) == 1  # the slot stays held

    later = (paris + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    answer = client.post(
        f"/admin/purchases/order/{order.id}/move-schedule/", {"publish_at": later}, follow=True
    )
    assert "moved; now publishes on" in answer.content.decode()
    order.refresh_from_db()
    assert order.status == S.SCHEDULED
    assert order.publish_at == (paris + timedelta(days=1)).replace(second=0, microsecond=0)
    moved = OrderTransition.objects.get(order=order, from_status=S.SCHEDULED, to_status=S.SCHEDULED)
    assert moved.actor == editor and "schedule moved from" in moved.reason

    answer = client.post(f"/admin/purchases/order/{order.id}/cancel-schedule/", follow=True)
    assert "schedule cancelled; the order waits for review again" in answer.content.decode()
    order.refresh_from_db()
    assert order.status == S.ADMIN_REVIEW
    assert order.publish_at is None and order.scheduled_by is None
    cancelled = OrderTransition.objects.get(order=order, from_status=S.SCHEDULED, to_status=S.ADMIN_REVIEW)
    assert cancelled.actor == editor and "schedule cancelled" in cancelled.reason
    assert api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["status"] == "ADMIN_REVIEW"


def test_a_schedule_in_the_past_naive_or_too_far_ahead_is_refused_naming_the_field(
    client: Any, api: Any, article: Any, run_worker: Any, editor: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_past")
    now = timezone.now()
    for bad in (
        now - timedelta(minutes=1),
        now.replace(tzinfo=None) + timedelta(days=1),
        now + timedelta(days=400),
    ):
        with pytest.raises(InvalidField) as refused:
            order_schedule_publish(order_id=order.id, actor=editor, publish_at=bad)
        assert list(refused.value.fields) == ["publishAt"] and refused.value.status_code == 400

    client.force_login(editor)
    past = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = client.post(f"/admin/purchases/order/{order.id}/schedule/", {"publish_at": past}, follow=True)
    assert "must be in the future" in answer.content.decode()
    client.post(f"/admin/purchases/order/{order.id}/schedule/", {"publish_at": "tomorrow"})
    order.refresh_from_db()
    assert order.status == S.ADMIN_REVIEW and order.publish_at is None
    assert not OrderTransition.objects.filter(order=order, to_status=S.SCHEDULED).exists()


def test_only_staff_with_the_publish_permission_may_schedule_move_or_cancel(
    client: Any, api: Any, article: Any, run_worker: Any, editor: User, reviewer: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_perm")
    tomorrow = timezone.now() + timedelta(days=1)
    with pytest.raises(PermissionRequired):
        order_schedule_publish(order_id=order.id, actor=reviewer, publish_at=tomorrow)
    client.force_login(reviewer)
    client.post(
        f"/admin/purchases/order/{order.id}/schedule/", {"publish_at": tomorrow.strftime("%Y-%m-%dT%H:%M")}
    )
    order.refresh_from_db()
    assert order.status == S.ADMIN_REVIEW

    order_schedule_publish(order_id=order.id, actor=editor, publish_at=tomorrow)
    for attempt in (
        lambda: order_schedule_move(
            order_id=order.id, actor=reviewer, publish_at=tomorrow + timedelta(hours=1)
        ),
        lambda: order_schedule_cancel(order_id=order.id, actor=reviewer),
    ):
        with pytest.raises(PermissionRequired):
            attempt()
    client.post(f"/admin/purchases/order/{order.id}/cancel-schedule/")
    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    assert "needs the “Can approve and publish orders” permission" in page
    order.refresh_from_db()
    assert order.status == S.SCHEDULED and order.publish_at == tomorrow


def test_a_second_schedule_and_a_schedule_outside_review_are_refused(
    api: Any, article: Any, run_worker: Any, editor: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_twice")
    tomorrow = timezone.now() + timedelta(days=1)
    order_schedule_publish(order_id=order.id, actor=editor, publish_at=tomorrow)

    with pytest.raises(ActionNotAllowed, match=r"now SCHEDULED"):
        order_schedule_publish(order_id=order.id, actor=editor, publish_at=tomorrow + timedelta(hours=2))
    with pytest.raises(ActionNotAllowed, match=r"now SCHEDULED"):
        order_approve_and_publish(order_id=order.id, actor=editor)
    order.refresh_from_db()
    assert order.publish_at == tomorrow
    assert OrderTransition.objects.filter(order=order, to_status=S.SCHEDULED).count() == 1

    order_schedule_cancel(order_id=order.id, actor=editor)
    with pytest.raises(ActionNotAllowed, match=r"now ADMIN_REVIEW"):
        order_schedule_move(order_id=order.id, actor=editor, publish_at=tomorrow)


def test_a_cancelled_or_moved_schedule_is_not_published_at_the_old_time(
    api: Any, article: Any, run_worker: Any, editor: User
) -> None:
    moved, _ = submitted(api, article, run_worker, "evt_moved")
    cancelled, _ = submitted(api, article, run_worker, "evt_cancelled")
    soon = timezone.now() + timedelta(seconds=1)
    order_schedule_publish(order_id=moved.id, actor=editor, publish_at=soon)
    order_schedule_publish(order_id=cancelled.id, actor=editor, publish_at=soon)
    order_schedule_move(order_id=moved.id, actor=editor, publish_at=timezone.now() + timedelta(hours=1))
    order_schedule_cancel(order_id=cancelled.id, actor=editor)
    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.05)

    assert scheduled_publish_due_job() == 0
    # A job already queued for the old time (before the move) does nothing either.
    assert order_scheduled_publish(order_id=moved.id) == "skipped"
    assert order_scheduled_publish(order_id=cancelled.id) == "skipped"
    moved.refresh_from_db()
    cancelled.refresh_from_db()
    assert (moved.status, cancelled.status) == (S.SCHEDULED, S.ADMIN_REVIEW)


def test_a_scheduled_order_holds_its_slot_and_may_still_be_refunded(
    api: Any, run_worker: Any, editor: User
) -> None:
    article = make_published_article(max_backlinks=1)
    order, _ = submitted(api, article, run_worker, "evt_slot")
    order_schedule_publish(order_id=order.id, actor=editor, publish_at=timezone.now() + timedelta(days=1))
    order.refresh_from_db()

    assert article_slots_used(article_id=article.pk) == 1
    assert REFUND.is_available(order, editor)
    answer = api.post(
        "/api/v1/purchase/checkout",
        {
            "articleId": article.pk,
            "customerEmail": "second@example.com",
            "targetUrl": "https://second.example.com/",
            "anchorText": "second link",
        },
        format="json",
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "sold_out"
    assert api.get(f"/api/v1/articles/{article.pk}/").json()["slotsLeft"] == 0


def test_the_cron_config_puts_the_due_scheduled_publishes_every_minute_on_the_maintenance_queue(
    db: Any,
) -> None:
    scheduler = DjangoCronScheduler()
    scheduler.load_config_from_file("blogorder.cron")

    jobs = {job.func_name: job for job in scheduler.get_jobs()}
    job = jobs["purchases.jobs.scheduled_publish_due_job"]
    assert (job.queue_name, job.interval) == ("maintenance", 60)


def test_a_scheduled_publish_left_undone_past_its_time_is_an_incident(
    api: Any, article: Any, run_worker: Any, editor: User, settings: Any
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_overdue")
    order_schedule_publish(order_id=order.id, actor=editor, publish_at=timezone.now() + timedelta(days=1))
    check = scheduled_publish_overdue_check()
    assert check.find(timezone.now()) == []

    # No cron or no maintenance worker: the time passed a quarter of an hour ago and it is still waiting.
    Order.objects.filter(pk=order.pk).update(publish_at=timezone.now() - timedelta(minutes=15))

    (finding,) = check.find(timezone.now())
    assert finding.key == "scheduled-publish-overdue"
    assert finding.details["order_ids"] == [str(order.id)]


def test_a_scheduled_order_refunded_before_its_time_is_never_published(
    api: Any, article: Any, run_worker: Any, editor: User, fake_stripe: Any
) -> None:
    order, token = drafted(api, article, run_worker, "evt_refund_sched", fake_stripe)
    api.post("/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth(token))
    scheduled_soon(order, editor)

    order_refund(order_id=order.id, actor=editor, reason="The customer changed their mind.")

    assert scheduled_publish_due_job() == 0
    assert order_scheduled_publish(order_id=order.id) == "skipped"
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert links_to(published_body(article), order.target_url) == 0
    assert article_slots_used(article_id=article.pk) == 0
