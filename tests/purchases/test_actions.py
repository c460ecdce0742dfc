"""Named order actions: one guard per move, shared by the API, the order page, the admin and the jobs."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from purchases.actions import (
    FINISH_DRAFT,
    KEEP_DRAFT,
    ORDER_ACTIONS,
    PAY,
    REFUND,
    STAFF_ACTIONS,
    SUBMIT_FOR_REVIEW,
    Audience,
    OrderAction,
    PermissionRequired,
    staff_actions,
)
from purchases.errors import NotRefundable
from purchases.models import ALLOWED_TRANSITIONS, CUSTOMER_STATES, Order, OrderStatus
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order
from tests.source_rules import ROOT, comparisons_of, writes_of

S = OrderStatus

# The API's ``actions`` in each status: public contract, exactly as before the actions existed.
CUSTOMER_CONTRACT: dict[str, list[str]] = {
    S.PENDING_PAYMENT: ["pay"],
    S.AWAITING_APPROVAL: [],
    S.PROCESSING: [],
    S.QUALITY_CHECK: ["regenerate", "submit_for_review"],
    S.ADMIN_REVIEW: [],
    S.SCHEDULED: [],
    S.PUBLISHED: ["view_article"],
    S.FAILED: [],
    S.REFUNDED: [],
}
MOVING_ACTIONS = [action for action in ORDER_ACTIONS if action.to_status is not None]


def order_in(status: str, *, paid: bool = False, **fields: Any) -> Order:
    """An unsaved order in ``status`` with a draft: an action's first tier reads the row alone."""
    values: dict[str, Any] = {
        "status": status,
        "amount": Decimal("49.00"),
        "refunded_amount": Decimal("0.00"),
        "currency": "usd",
        "paid_at": timezone.now() if paid else None,
        "stripe_payment_intent_id": "pi_1" if paid else "",
        "current_version_id": 1,
        "article_id": 1,
        "job_runs": 1,
    }
    return Order(**{**values, **fields})


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def staff_user(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=codenames, content_type__app_label="purchases")
    )
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("action", MOVING_ACTIONS, ids=lambda a: a.name)
def test_every_move_of_an_action_is_one_the_status_table_allows(action: OrderAction) -> None:
    assert action.from_statuses
    for from_status in action.from_statuses:
        for to_status in {action.to_status, *action.also_to}:
            assert to_status in ALLOWED_TRANSITIONS[from_status]


def test_an_action_making_a_move_the_table_does_not_allow_cannot_be_defined() -> None:
    with pytest.raises(ImproperlyConfigured, match="QUALITY_CHECK -> PUBLISHED"):

        class PublishTheDraftAtOnce(OrderAction):
            name = "publish_at_once"
            to_status = S.PUBLISHED
            from_statuses = frozenset({S.QUALITY_CHECK})


def test_an_action_that_names_no_start_starts_wherever_the_table_allows() -> None:
    assert REFUND.from_statuses == set(OrderStatus) - {S.REFUNDED}
    assert SUBMIT_FOR_REVIEW.from_statuses == {S.QUALITY_CHECK}


@pytest.mark.parametrize("action", MOVING_ACTIONS, ids=lambda a: a.name)
def test_an_action_is_refused_in_every_other_status_with_a_conflict_naming_it(action: OrderAction) -> None:
    for status in set(OrderStatus) - action.from_statuses:
        with pytest.raises(action.error) as refused:
            action.check_order(order_in(status))

        assert refused.value.status_code == 409
        if "{status}" in action.refused:
            assert f"(now {status})" in refused.value.message
        if action.audience == Audience.CUSTOMER:  # the API's message: the state in words, never its name
            assert CUSTOMER_STATES[status] in refused.value.message
            assert not any(name in refused.value.message for name in OrderStatus.values)


@pytest.mark.parametrize("action", ORDER_ACTIONS, ids=lambda a: a.name)
def test_every_action_but_a_link_is_performed_by_one_service(action: OrderAction) -> None:
    # Only a link that moves nothing (reading the article) has no service; taking a link down
    # moves no status but has its service.
    service = action.performed_by
    if action.to_status is None and action.link:
        assert service is None
    else:
        assert service is not None and service.__module__.startswith("purchases.services.")


def test_a_fresh_process_knows_the_service_of_every_action_once_django_is_set_up() -> None:
    # The test session imports the services anyway; a web process may not before it runs an action.
    script = (
        "import django; django.setup()\n"
        "from purchases.actions import ORDER_ACTIONS\n"
        "print(sorted(a.name for a in ORDER_ACTIONS if (a.to_status or not a.link) and a.performed_by is None))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "blogorder.settings.test", "PYTHONPATH": str(ROOT)}

    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "paid"), [*((status, False) for status in OrderStatus), (S.FAILED, True)])
def test_the_api_offers_the_customer_the_same_actions_in_every_status(
    api: Any, article: Any, status: str, paid: bool
) -> None:
    order, token = make_order(article)
    Order.objects.filter(pk=order.pk).update(status=status, paid_at=timezone.now() if paid else None)

    data = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()

    assert data["actions"] == CUSTOMER_CONTRACT[status]


def test_a_late_payment_is_accepted_for_an_unpaid_failure_though_the_customer_is_not_offered_to_pay() -> None:
    expired = order_in(S.FAILED)

    assert PAY.allows(expired)
    assert not PAY.is_available(expired)
    assert not PAY.allows(order_in(S.FAILED, paid=True))


def test_only_the_latest_run_of_an_order_being_worked_on_may_finish_its_draft() -> None:
    order = order_in(S.PROCESSING, paid=True, job_runs=2)

    assert FINISH_DRAFT.run_may_finish(order, run=2)
    assert not FINISH_DRAFT.run_may_finish(order, run=1)
    assert not FINISH_DRAFT.run_may_finish(order_in(S.REFUNDED, paid=True, job_runs=2), run=2)


def test_a_run_stopped_at_the_token_cap_goes_back_only_to_a_draft_the_order_has() -> None:
    without = order_in(S.PROCESSING, paid=True, job_runs=2, current_version_id=None)
    with_draft = order_in(S.PROCESSING, paid=True, job_runs=2)

    assert not KEEP_DRAFT.run_may_keep(without, run=2)
    assert KEEP_DRAFT.run_may_keep(with_draft, run=2)
    assert not KEEP_DRAFT.run_may_keep(with_draft, run=1)


@pytest.mark.parametrize(
    ("order", "refusal"),
    [
        (order_in(S.QUALITY_CHECK), "This order was never paid, so there is nothing to refund."),
        (order_in(S.REFUNDED, paid=True), "This order has already been refunded in full."),
        (
            order_in(S.PUBLISHED, paid=True, refunded_amount=Decimal("49.00")),
            "This order has already been refunded in full.",
        ),
        (
            order_in(S.PUBLISHED, paid=True, stripe_payment_intent_id=""),
            "No Stripe payment is recorded for this order; refund it in the Stripe dashboard.",
        ),
    ],
)
def test_a_refund_is_refused_with_the_reason_staff_can_act_on(order: Order, refusal: str) -> None:
    with pytest.raises(NotRefundable) as refused:
        REFUND.check_order(order)

    assert refused.value.message == refusal
    assert refused.value.code == "not_refundable"


@pytest.mark.django_db
def test_a_refused_customer_action_answers_as_before(api: Any, article: Any) -> None:
    order, token = make_order(article)

    response = api.post(
        "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token)
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "action_not_allowed"
    assert response.json()["error"]["message"] == (
        "A draft can be regenerated only while it awaits your review; right now the order is waiting for its payment."
    )


@pytest.mark.django_db
def test_each_staff_action_needs_its_permission_and_nothing_else_grants_it() -> None:
    clerk = staff_user("clerk")
    reviewer = staff_user("reviewer", "view_order", "change_order")
    editor = User.objects.create_superuser("editor", "editor@example.com", "pw")
    for action in STAFF_ACTIONS:
        order = order_in(next(iter(action.from_statuses)), paid=True)
        assert action.is_offered(order), action

        assert not action.is_available(order)  # a customer, or no one
        assert not action.is_available(order, clerk)
        with pytest.raises(PermissionRequired) as refused:
            action.check(order, clerk)
        assert (refused.value.status_code, refused.value.code) == (403, "permission_denied")
        assert action.is_available(order, editor)
    assert {a.name for a in STAFF_ACTIONS if a.has_permission(reviewer)} == {"reject", "retry"}


@pytest.mark.django_db
def test_staff_are_offered_what_the_order_allows_and_their_permissions_let_them_do() -> None:
    failed = order_in(S.FAILED, paid=True)
    reviewer = staff_user("reviewer", "view_order", "change_order")
    editor = User.objects.create_superuser("editor", "editor@example.com", "pw")

    assert [a.name for a in staff_actions(failed, editor)] == ["retry", "refund"]
    assert [a.name for a in staff_actions(failed, reviewer)] == ["retry"]
    assert [a.name for a in staff_actions(order_in(S.ADMIN_REVIEW, paid=True), reviewer)] == ["reject"]
    # Paid and waiting for approval: accept, decline (with its refund), or a plain refund.
    waiting = order_in(S.AWAITING_APPROVAL, paid=True, current_version_id=None, job_runs=0)
    assert [a.name for a in staff_actions(waiting, editor)] == ["accept_target", "decline_target", "refund"]
    assert staff_actions(waiting, reviewer) == []
    # A refunded order's link may still be live: taking it down is all that is left.
    assert [a.name for a in staff_actions(order_in(S.REFUNDED, paid=True), editor)] == ["take_down_link"]
    assert staff_actions(order_in(S.REFUNDED, paid=True), reviewer) == []


@pytest.mark.django_db
def test_the_order_list_offers_each_user_only_the_bulk_actions_they_may_run(
    client: Any, article: Any
) -> None:
    make_order(article)
    reviewer = staff_user("reviewer", "view_order", "change_order")
    refunder = staff_user("refunder", "view_order", "refund_order")
    editor = User.objects.create_superuser("editor", "editor@example.com", "pw")

    def offered(user: User) -> set[str]:
        client.force_login(user)
        page = client.get("/admin/purchases/order/").content.decode()
        return {action.name for action in STAFF_ACTIONS if f'<option value="{action.name}">' in page}

    assert offered(reviewer) == {"reject", "retry"}
    assert offered(refunder) == {"refund"}
    # Scheduling and moving a schedule ask for a time on the review page: never in bulk.
    assert offered(editor) == {
        "accept_target",
        "decline_target",
        "approve_and_publish",
        "cancel_schedule",
        "reject",
        "retry",
        "refund",
        "take_down_link",
    }


@pytest.mark.django_db(transaction=True)
def test_the_order_page_shows_the_buttons_of_the_customer_actions_and_runs_them_by_name(
    client: Any, api: Any, article: Any, run_worker: Any
) -> None:
    order, token = make_order(article)
    url = f"/orders/{order.id}/?token={token}"
    assert "Pay 49.00 USD" in client.get(url, follow=True).content.decode()
    assert signed_post(api, checkout_event(order, event_id="evt_buttons")).status_code == 200
    run_worker()

    page = client.get(url, follow=True).content.decode()
    # Submitting asks for a confirmation first (its own page, for the current draft).
    submit_link = f'href="/orders/{order.id}/drafts/1/submit/">Submit for editorial review</a>'
    assert submit_link in page and 'value="regenerate"' in page
    assert "Pay 49.00 USD" not in page

    response = client.post(url, {"action": "submit_for_review"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.ADMIN_REVIEW
    page = client.get(url, follow=True).content.decode()
    assert "Sent to our editors" in page
    assert submit_link not in page and 'value="regenerate"' not in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["pay", "view_article", "reject", "refund", "nonsense"])
def test_the_order_page_runs_no_action_it_does_not_post(client: Any, article: Any, name: str) -> None:
    order, token = make_order(article)
    Order.objects.filter(pk=order.pk).update(status=S.QUALITY_CHECK)

    response = client.post(f"/orders/{order.id}/?token={token}", {"action": name})

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == S.QUALITY_CHECK


def test_no_bare_status_comparisons_outside_the_order_model_and_its_actions() -> None:
    found = comparisons_of(
        "status",
        allowed={"purchases/models.py", "purchases/actions/"},
        foreign={"refund"},  # a Stripe refund's status
    )

    assert found == []


def test_an_order_status_is_written_only_by_its_guarded_move() -> None:
    assert writes_of("status", allowed={"purchases/models.py"}) == []
