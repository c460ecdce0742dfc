"""Disputes and refund updates from Stripe, signed and delivered to the real webhook, in any order."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from articles.models import Article
from purchases.actions import TAKE_DOWN_LINK
from purchases.errors import ActionNotAllowed
from purchases.models import Order, OrderStatus, StripeEvent
from tests.conftest import signed_post
from tests.factories import make_order
from tests.purchases.test_paid_links import links_of, live_body, published, refunded_in_admin

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


def stripe_event(event_type: str, obj: dict[str, Any], *, event_id: str) -> bytes:
    return json.dumps(
        {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}, "livemode": False}
    ).encode()


def dispute(order: Order, status: str, *, dispute_id: str = "dp_1") -> dict[str, Any]:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": order.amount_minor,
        "currency": order.currency,
        "charge": "ch_1",
        "payment_intent": order.stripe_payment_intent_id,
        "reason": "fraudulent",
        "status": status,
        "metadata": {},
    }


def refund(order: Order, status: str, *, refund_id: str | None = None) -> dict[str, Any]:
    return {
        "id": refund_id or order.stripe_refund_id,
        "object": "refund",
        "amount": order.amount_minor,
        "currency": order.currency,
        "charge": "ch_1",
        "payment_intent": order.stripe_payment_intent_id,
        "status": status,
        "failure_reason": "expired_or_canceled_card" if status == "failed" else None,
        "metadata": {"order_id": str(order.id)},
    }


def paid(api: Any, article: Article, fake_stripe: Any) -> Order:
    order, _ = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    return order


def staff_subjects(mailoutbox: Any, order: Order) -> list[str]:
    return [m.subject for m in mailoutbox if str(order.id) in m.subject and "editors@localhost" in m.to]


def outcome(api: Any, payload: bytes) -> str:
    response = signed_post(api, payload)
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def test_a_dispute_flags_the_order_tells_staff_and_lets_them_take_the_link_down(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User, mailoutbox: Any
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    assert not TAKE_DOWN_LINK.is_offered(order)

    assert outcome(
        api, stripe_event("charge.dispute.created", dispute(order, "needs_response"), event_id="e1")
    ) == ("dispute_opened")

    order.refresh_from_db()
    assert (order.status, order.dispute_id, order.dispute_status) == (
        OrderStatus.PUBLISHED,
        "dp_1",
        "needs_response",
    )
    assert order.disputed_at is not None
    assert staff_subjects(mailoutbox, order) == [f"[Blogorder] Order {order.id} is disputed (needs_response)"]
    assert StripeEvent.objects.get(event_id="e1").order == order
    assert "Take the link down…" in client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    response = client.post(f"/admin/purchases/order/{order.id}/take-down-link/", {"reason": "Chargeback."})
    assert response.status_code == 302
    assert links_of(live_body(article), order) == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PUBLISHED
    move = order.transitions.last()
    assert move is not None and (move.from_status, move.to_status, move.actor) == (
        "PUBLISHED",
        "PUBLISHED",
        editor,
    )


def test_a_dispute_closed_before_it_was_created_keeps_the_outcome(
    api: Any, article: Article, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid(api, article, fake_stripe)

    closed = outcome(api, stripe_event("charge.dispute.closed", dispute(order, "lost"), event_id="e_closed"))
    created = outcome(
        api, stripe_event("charge.dispute.created", dispute(order, "needs_response"), event_id="e_new")
    )

    assert (closed, created) == ("dispute_closed", "dispute_already_recorded")
    order.refresh_from_db()
    assert (order.dispute_status, order.status) == ("lost", OrderStatus.PROCESSING)
    assert order.link_at_risk
    assert staff_subjects(mailoutbox, order) == [f"[Blogorder] Dispute on order {order.id} closed: lost"]


def test_a_won_dispute_records_the_outcome_and_no_longer_offers_the_take_down(
    api: Any, article: Article, fake_stripe: Any, mailoutbox: Any
) -> None:
    order = paid(api, article, fake_stripe)
    outcome(api, stripe_event("charge.dispute.created", dispute(order, "needs_response"), event_id="e1"))
    outcome(api, stripe_event("charge.dispute.updated", dispute(order, "under_review"), event_id="e2"))

    assert (
        outcome(api, stripe_event("charge.dispute.closed", dispute(order, "won"), event_id="e3"))
        == "dispute_closed"
    )
    # A late copy of the update does not reopen it.
    assert outcome(
        api, stripe_event("charge.dispute.updated", dispute(order, "under_review"), event_id="e4")
    ) == ("dispute_already_recorded")

    order.refresh_from_db()
    assert (order.dispute_status, order.link_at_risk) == ("won", False)
    assert staff_subjects(mailoutbox, order) == [
        f"[Blogorder] Order {order.id} is disputed (needs_response)",
        f"[Blogorder] Order {order.id} is disputed (under_review)",
        f"[Blogorder] Dispute on order {order.id} closed: won",
    ]
    with pytest.raises(ActionNotAllowed, match="refunded or disputed"):
        TAKE_DOWN_LINK.check_order(order)


def test_a_failed_refund_is_recorded_and_staff_are_told_while_the_order_stays_refunded(
    api: Any, client: Any, article: Article, fake_stripe: Any, editor: User, mailoutbox: Any
) -> None:
    order = paid(api, article, fake_stripe)
    refunded_in_admin(client, order, editor)
    assert order.refund_status == "succeeded"

    assert outcome(api, stripe_event("refund.failed", refund(order, "failed"), event_id="e_fail")) == (
        "refund_status_recorded"
    )

    order.refresh_from_db()
    assert (order.status, order.refund_status, order.refunded_amount) == (
        OrderStatus.REFUNDED,
        "failed",
        order.amount,
    )
    assert staff_subjects(mailoutbox, order) == [f"[Blogorder] Refund failed on order {order.id}"]
    assert "expired_or_canceled_card" in next(m.body for m in mailoutbox if "Refund failed" in m.subject)


def test_a_refund_update_that_comes_after_the_failure_does_not_take_it_back(
    api: Any, client: Any, article: Article, fake_stripe: Any, editor: User, mailoutbox: Any
) -> None:
    order = paid(api, article, fake_stripe)
    refunded_in_admin(client, order, editor)

    first = outcome(
        api, stripe_event("charge.refund.updated", refund(order, "failed"), event_id="e_upd_failed")
    )
    late_failed = outcome(api, stripe_event("refund.failed", refund(order, "failed"), event_id="e_failed"))
    late_ok = outcome(
        api, stripe_event("charge.refund.updated", refund(order, "succeeded"), event_id="e_upd_ok")
    )

    assert (first, late_failed, late_ok) == (
        "refund_status_recorded",
        "refund_status_already_recorded",
        "refund_status_already_recorded",
    )
    order.refresh_from_db()
    assert order.refund_status == "failed"
    assert staff_subjects(mailoutbox, order) == [f"[Blogorder] Refund failed on order {order.id}"]


def test_a_refund_made_in_the_dashboard_is_recorded_by_its_update(
    api: Any, article: Article, fake_stripe: Any
) -> None:
    order = paid(api, article, fake_stripe)

    assert outcome(
        api,
        stripe_event("charge.refund.updated", refund(order, "pending", refund_id="re_dash"), event_id="e"),
    ) == ("refund_status_recorded")

    order.refresh_from_db()
    assert (order.stripe_refund_id, order.refund_status, order.status) == (
        "re_dash",
        "pending",
        OrderStatus.PROCESSING,
    )


def test_disputes_and_refunds_of_no_known_order_are_answered_and_change_nothing(
    api: Any, article: Article
) -> None:
    stranger = Order(stripe_payment_intent_id="pi_nobody", amount=Decimal("10.00"), currency="eur")

    assert outcome(
        api, stripe_event("charge.dispute.created", dispute(stranger, "needs_response"), event_id="a")
    ) == ("dispute_unmatched")
    assert outcome(
        api,
        stripe_event(
            "refund.failed", {**refund(stranger, "failed", refund_id="re_x"), "metadata": {}}, event_id="b"
        ),
    ) == ("refund_unmatched")
