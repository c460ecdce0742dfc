"""Review before work: a paid order that needs approval waits; staff accept its target or decline it.

Real PostgreSQL, Redis and RQ worker; Stripe and OpenAI are the fake servers at the HTTP boundary,
so the official libraries send the payments, refunds and model calls (or, here, do not).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import django_rq
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from purchases import test_mode
from purchases.actions import PermissionRequired
from purchases.catalog.selectors import article_slots_used
from purchases.errors import ActionNotAllowed, InvalidField
from purchases.models import EmailKind, EmailRecord, Order, OrderStatus, OrderTransition
from purchases.services.approval import order_target_accept, order_target_decline
from purchases.services.reconciliation import stripe_sessions_reconcile
from queueing.models import JobRequest
from tests.conftest import outbox_for, signed_post
from tests.factories import make_article_order, make_order, make_published_article
from tests.purchases.test_backlink_flow import GOOD
from tests.purchases.test_order_page_live import root_data

pytestmark = pytest.mark.django_db(transaction=True)

S = OrderStatus
REASON = "We do not link to payday lenders."


def approver(username: str = "approver") -> Any:
    """A staff user with the accept/decline permission (and only it)."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    if created:
        user.user_permissions.add(Permission.objects.get(codename="approve_target"))
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def approval_article(db: Any) -> Any:
    return make_published_article(needs_approval=True, max_backlinks=1)


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def pay_at_stripe(api: Any, fake_stripe: Any, order: Order) -> Order:
    """Pay the order's session at the fake Stripe and deliver its webhook, as Stripe would."""
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    payload = fake_stripe.checkout_session_event(order.stripe_checkout_session_id)
    assert signed_post(api, payload).json()["outcome"] == "paid"
    order.refresh_from_db()
    return order


def waiting_order(api: Any, fake_stripe: Any, article: Any) -> tuple[Order, str]:
    order, token = make_order(article, anchor_text="memory foam pillows")
    return pay_at_stripe(api, fake_stripe, order), token


def emails_of(order: Order, kind: str) -> list[Any]:
    subjects = {
        record.subject for record in EmailRecord.objects.filter(order=order, kind=kind, sent_at__isnull=False)
    }
    return [m for m in outbox_for(order) if m.subject in subjects]


# --- paid, then waiting ------------------------------------------------------------------------


def test_a_paid_order_of_an_article_that_needs_approval_waits_and_no_model_is_called(
    api: Any, approval_article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, token = make_order(approval_article)
    assert order.needs_approval

    order = pay_at_stripe(api, fake_stripe, order)
    run_worker()

    assert order.status == S.AWAITING_APPROVAL
    assert order.is_paid and order.job_runs == 0 and order.queue_job_id == ""
    assert not JobRequest.objects.filter(subject_id=order.id).exists()
    assert fake_openai.requests == []  # no model call at all
    [move] = order.transitions.all()
    assert (move.from_status, move.to_status, move.source) == (
        S.PENDING_PAYMENT,
        S.AWAITING_APPROVAL,
        "stripe",
    )
    # It keeps its slot while it waits: the article (one slot) is sold out.
    assert article_slots_used(article_id=approval_article.pk) == 1
    assert (
        api.post(
            "/api/v1/purchase/checkout",
            {
                "articleId": approval_article.pk,
                "targetUrl": "https://other.example-store.com/",
                "anchorText": "pillows",
                "customerEmail": "other@example.com",
            },
            format="json",
        ).json()["error"]["code"]
        == "sold_out"
    )
    [waiting_email] = emails_of(order, EmailKind.AWAITING_APPROVAL)
    assert "reviews your link" in waiting_email.body and "refunded in full" in waiting_email.body
    staff = [m for m in mailoutbox if "Order waiting for approval" in m.subject]
    assert len(staff) == 1 and f"/admin/purchases/order/{order.pk}/change/" in staff[0].body

    status = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()
    assert status["status"] == "AWAITING_APPROVAL"
    assert status["statusLabel"] == "Waiting for approval"
    assert status["statusMessage"].startswith(
        "Your payment is received. The publisher reviews your link (its target and anchor text) before "
        "anything is written."
    )
    assert status["actions"] == []
    assert status["receipt"]["amount"] == "49.00"


def test_an_order_of_an_article_without_the_switch_starts_at_once(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, article)
    assert not order.needs_approval
    assert order.status == S.PROCESSING


def test_the_switch_is_read_at_checkout_so_turning_it_on_later_does_not_hold_an_order_already_placed(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, _ = make_order(article)
    type(article).objects.filter(pk=article.pk).update(needs_approval=True)
    assert pay_at_stripe(api, fake_stripe, order).status == S.PROCESSING


def test_article_orders_wait_only_when_the_setting_says_so(
    api: Any, fake_stripe: Any, settings: Any, fake_openai: Any, run_worker: Any
) -> None:
    plain, _ = make_article_order()
    settings.ARTICLE_ORDERS_NEED_APPROVAL = True
    held, token = make_article_order()

    assert pay_at_stripe(api, fake_stripe, plain).status == S.PROCESSING
    assert pay_at_stripe(api, fake_stripe, held).status == S.AWAITING_APPROVAL
    message = api.get(f"/api/v1/purchase/status/{held.id}", **auth(token)).json()["statusMessage"]
    assert "reviews your order (its topic and link)" in message


def test_in_local_test_mode_the_simulated_payment_waits_too(
    api: Any, approval_article: Any, local_test_payments: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(approval_article)
    event = test_mode.checkout_completed_event(order=order)
    assert signed_post(api, json.dumps(event).encode()).json()["outcome"] == "paid"
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL

    order_target_decline(order_id=order.id, actor=approver(), reason=REASON)

    order.refresh_from_db()
    assert order.status == S.REFUNDED and order.refunded_amount == order.amount
    assert local_test_payments.requests == []  # the simulated refund; Stripe never called


def test_a_payment_the_reconciliation_repairs_waits_too(approval_article: Any, fake_stripe: Any) -> None:
    order, _ = make_order(approval_article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)

    report = stripe_sessions_reconcile(since=timezone.now() - timedelta(hours=1))

    order.refresh_from_db()
    assert report.repaired == 1
    assert order.status == S.AWAITING_APPROVAL
    assert order.transitions.get().source == "reconciler"
    assert not JobRequest.objects.filter(subject_id=order.id).exists()


# --- accept ------------------------------------------------------------------------------------


def test_accepting_the_target_writes_the_order_as_usual(
    api: Any, approval_article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.script(GOOD)
    order, token = waiting_order(api, fake_stripe, approval_article)
    staff = approver()

    job_id = order_target_accept(order_id=order.id, actor=staff)

    order.refresh_from_db()
    assert order.status == S.PROCESSING
    assert job_id == order.queue_job_id == f"backlink-{order.id}-run-1"
    assert django_rq.get_queue("backlink-integration").job_ids == [job_id]
    move = order.transitions.last()
    assert move is not None
    assert (move.from_status, move.to_status, move.source, move.actor, move.reason) == (
        S.AWAITING_APPROVAL,
        S.PROCESSING,
        "staff",
        staff,
        "target accepted",
    )
    [accepted] = emails_of(order, EmailKind.TARGET_ACCEPTED)
    assert "accepted your link" in accepted.body
    message = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["statusMessage"]
    assert message.startswith("The publisher accepted your link. We are weaving your link into")

    run_worker()

    order.refresh_from_db()
    assert order.status == S.QUALITY_CHECK
    assert len(fake_openai.requests) == 1
    assert emails_of(order, EmailKind.BACKLINK_INTEGRATED)


def test_accepting_twice_starts_one_run_and_the_second_is_refused(
    api: Any, approval_article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    order_target_accept(order_id=order.id, actor=approver())

    with pytest.raises(ActionNotAllowed) as refused:
        order_target_accept(order_id=order.id, actor=approver())

    assert refused.value.status_code == 409
    assert "Only orders waiting for approval" in str(refused.value)
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1
    assert OrderTransition.objects.filter(order=order, to_status=S.PROCESSING).count() == 1


def test_an_order_that_does_not_wait_cannot_be_accepted_or_declined(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, article)  # PROCESSING: no approval needed
    with pytest.raises(ActionNotAllowed):
        order_target_accept(order_id=order.id, actor=approver())
    with pytest.raises(ActionNotAllowed):
        order_target_decline(order_id=order.id, actor=approver(), reason=REASON)
    assert fake_stripe.refunds == []


def test_staff_without_the_permission_can_neither_accept_nor_decline(
    api: Any, approval_article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="change_order"))
    clerk = get_user_model().objects.get(pk=clerk.pk)

    for call in (
        lambda: order_target_accept(order_id=order.id, actor=clerk),
        lambda: order_target_decline(order_id=order.id, actor=clerk, reason=REASON),
        lambda: order_target_accept(order_id=order.id, actor=None),
    ):
        with pytest.raises(PermissionRequired) as refused:
            call()
        assert refused.value.status_code == 403
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL
    assert fake_stripe.refunds == []


# --- decline -----------------------------------------------------------------------------------


def test_declining_refunds_in_full_at_stripe_emails_the_reason_and_frees_the_slot(
    api: Any, approval_article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, token = waiting_order(api, fake_stripe, approval_article)
    assert article_slots_used(article_id=approval_article.pk) == 1
    staff = approver()

    order_target_decline(order_id=order.id, actor=staff, reason=f"  {REASON}\n")

    [refund] = fake_stripe.refunds
    assert refund["payment_intent"] == order.stripe_payment_intent_id
    assert refund["amount"] == 4900  # in full
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert order.refunded_amount == Decimal("49.00")
    assert order.stripe_refund_id == refund["id"]
    move = order.transitions.last()
    assert move is not None
    assert (move.from_status, move.to_status, move.source, move.actor, move.reason) == (
        S.AWAITING_APPROVAL,
        S.REFUNDED,
        "staff",
        staff,
        REASON,
    )
    assert article_slots_used(article_id=approval_article.pk) == 0
    [declined] = emails_of(order, EmailKind.TARGET_DECLINED)
    assert declined.subject == "Your link was declined and your payment refunded"
    assert REASON in declined.body and "49.00 USD" in declined.body
    html = declined.alternatives[0][0]
    assert REASON in html
    # One email about it: the decline, not a second generic refund email.
    assert not EmailRecord.objects.filter(order=order, kind=EmailKind.REFUNDED).exists()
    status = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()
    assert status["statusLabel"] == "Refunded"
    assert status["statusMessage"].startswith(
        f"The publisher declined your link: “{REASON}” We refunded 49.00 USD, your payment in full."
    )
    run_worker()
    assert fake_openai.requests == []


def test_a_decline_without_a_reason_is_a_400_naming_the_field_and_changes_nothing(
    api: Any, approval_article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)

    with pytest.raises(InvalidField) as refused:
        order_target_decline(order_id=order.id, actor=approver(), reason=" \n ")

    assert refused.value.status_code == 400
    assert list(refused.value.fields) == ["reason"]
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL
    assert fake_stripe.refunds == []


def test_declining_twice_refunds_once_and_emails_once(
    api: Any, approval_article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    order_target_decline(order_id=order.id, actor=approver(), reason=REASON)

    with pytest.raises(ActionNotAllowed):
        order_target_decline(order_id=order.id, actor=approver(), reason=REASON)

    assert len(fake_stripe.refunds) == 1
    assert EmailRecord.objects.filter(order=order, kind=EmailKind.TARGET_DECLINED).count() == 1


def test_a_hostile_reason_is_escaped_in_the_html_email(
    api: Any, approval_article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    order_target_decline(
        order_id=order.id, actor=approver(), reason='<img src="https://evil.example/x.png"> no'
    )
    [declined] = emails_of(order, EmailKind.TARGET_DECLINED)
    html = declined.alternatives[0][0]
    assert "<img" not in html and "&lt;img" in html


# --- at the same time --------------------------------------------------------------------------


def at_once(*calls: Any) -> list[BaseException | None]:
    """Run the calls in threads started together; each thread closes its own connection."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(i: int, call: Any) -> None:
        try:
            barrier.wait()
            call()
        except BaseException as exc:  # noqa: BLE001 - recorded for the test to read
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.postgres
def test_two_editors_accepting_at_once_start_one_run(
    api: Any, approval_article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    first, second = approver("first"), approver("second")

    outcomes = at_once(
        lambda: order_target_accept(order_id=order.id, actor=first),
        lambda: order_target_accept(order_id=order.id, actor=second),
    )

    assert outcomes.count(None) == 1
    assert any(isinstance(o, ActionNotAllowed) for o in outcomes), outcomes
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1
    assert django_rq.get_queue("backlink-integration").count == 1


@pytest.mark.postgres
def test_two_editors_declining_at_once_refund_once_and_email_once(
    api: Any, approval_article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    first, second = approver("first"), approver("second")

    outcomes = at_once(
        lambda: order_target_decline(order_id=order.id, actor=first, reason=REASON),
        lambda: order_target_decline(order_id=order.id, actor=second, reason=REASON),
    )

    assert all(o is None or isinstance(o, ActionNotAllowed) for o in outcomes), outcomes
    assert len(fake_stripe.refunds) == 1
    order.refresh_from_db()
    assert order.status == S.REFUNDED and order.refunded_amount == order.amount
    assert OrderTransition.objects.filter(order=order, to_status=S.REFUNDED).count() == 1
    assert EmailRecord.objects.filter(order=order, kind=EmailKind.TARGET_DECLINED).count() == 1


# --- the order page ----------------------------------------------------------------------------


def test_the_order_page_says_what_the_order_waits_for_and_looks_now_and_then(
    client: Any, api: Any, approval_article: Any, fake_stripe: Any
) -> None:
    order, token = waiting_order(api, fake_stripe, approval_article)

    page = client.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()

    assert root_data(page)["live"] == "slow"  # waiting on people: ORDER_PAGE_SLOW_POLL_SECONDS
    assert root_data(page)["status"] == "AWAITING_APPROVAL"
    assert "Waiting for approval" in page
    assert "The publisher reviews your link (its target and anchor text) before anything is written." in page
    assert 'http-equiv="refresh"' not in page  # no busy refresh without JavaScript either


# --- the admin ---------------------------------------------------------------------------------


def test_staff_accept_from_the_order_page_in_admin_and_the_writing_starts(
    client: Any, api: Any, approval_article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    staff = approver()
    staff.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(staff)

    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    assert "Waiting for approval" in page
    assert f'action="/admin/purchases/order/{order.id}/accept-target/"' in page
    assert f'action="/admin/purchases/order/{order.id}/decline-target/"' in page
    assert 'value="Accept target"' in page and 'value="Decline and refund"' in page

    response = client.post(f"/admin/purchases/order/{order.id}/accept-target/", follow=True)

    assert response.redirect_chain[0] == (f"/admin/purchases/order/{order.id}/change/", 302)
    assert "target accepted; writing started as job" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.PROCESSING
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1
    # A second click (an old tab) is refused with the reason and starts nothing.
    again = client.post(f"/admin/purchases/order/{order.id}/accept-target/", follow=True).content.decode()
    assert "Only orders waiting for approval can have their target accepted (now PROCESSING)." in again
    assert JobRequest.objects.filter(subject_id=order.id).count() == 1
    assert 'value="Accept target"' not in again


def test_staff_decline_from_admin_asks_for_a_reason_then_refunds(
    client: Any, api: Any, approval_article: Any, fake_stripe: Any, mailoutbox: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    staff = approver()
    staff.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(staff)

    blank = client.post(f"/admin/purchases/order/{order.id}/decline-target/", {"reason": "  "})
    assert blank.status_code == 200
    assert "This field is required." in blank.content.decode()
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL and fake_stripe.refunds == []

    done = client.post(f"/admin/purchases/order/{order.id}/decline-target/", {"reason": REASON}, follow=True)

    assert "target declined; refunded 49.00 USD" in done.content.decode()
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert len(fake_stripe.refunds) == 1
    [declined] = emails_of(order, EmailKind.TARGET_DECLINED)
    assert REASON in declined.body


def test_staff_without_the_permission_see_no_buttons_and_their_posts_change_nothing(
    client: Any, api: Any, approval_article: Any, fake_stripe: Any
) -> None:
    order, _ = waiting_order(api, fake_stripe, approval_article)
    reviewer = get_user_model().objects.create_user("reviewer", is_staff=True)
    reviewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    client.force_login(reviewer)

    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    assert 'value="Accept target"' not in page and 'value="Decline and refund"' not in page
    assert "Accepting or declining a target needs" in page

    accepted = client.post(f"/admin/purchases/order/{order.id}/accept-target/", follow=True).content.decode()
    client.post(f"/admin/purchases/order/{order.id}/decline-target/", {"reason": REASON})
    client.post("/admin/purchases/order/", {"action": "accept_target", "_selected_action": [str(order.id)]})

    assert "You do not have permission to accept or decline order targets." in accepted
    order.refresh_from_db()
    assert order.status == S.AWAITING_APPROVAL
    assert fake_stripe.refunds == []
    assert not JobRequest.objects.filter(subject_id=order.id).exists()


def test_the_article_switch_is_edited_in_admin(client: Any, article: Any) -> None:
    editor = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(editor)
    form = client.get(f"/admin/articles/article/{article.pk}/change/").content.decode()
    assert 'name="needs_approval"' in form

    response = client.post(
        f"/admin/articles/article/{article.pk}/change/",
        {
            "title": article.title,
            "slug": article.slug,
            "language": "en",
            "backlink_price": "49.00",
            "currency": "usd",
            "max_backlinks": 3,
            "needs_approval": "on",
            "body_markdown": article.published_version.body_markdown,
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.needs_approval
    order, _ = make_order(article)
    assert order.needs_approval
