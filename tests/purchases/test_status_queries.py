"""The status endpoint polled by every open order page: at most 2 SQL queries whatever the state.

Orders are brought to each state through the real flows (signed webhook, a real worker, staff in the
admin, a refund through the fake Stripe), then the status endpoint is read under a query counter,
its first read in a process (nothing kept yet: the wait estimate's mean is read too) and a later one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from purchases.models import Order
from purchases.services.refunds import order_refund
from queueing.selectors import recent_job_seconds_forget
from tests.conftest import signed_post
from tests.factories import GOOD_BACKLINK_REPLY, make_order

pytestmark = pytest.mark.django_db(transaction=True)

# The order with everything its status message needs (one query), and, once per process and
# ``RECENT_JOB_SECONDS_CACHE_SECONDS``, the mean job duration of the wait estimate.
MAX_STATUS_QUERIES = 2
GOOD = GOOD_BACKLINK_REPLY


@pytest.fixture
def editor(db: Any) -> Client:
    staff = Client()
    staff.force_login(User.objects.create_superuser("editor", "editor@example.com", "pw"))
    return staff


def _user(staff: Client) -> User:
    return User.objects.get(username="editor")


def _auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _pay(api: Any, order: Order, fake_stripe: Any) -> None:
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    assert (
        signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id)).status_code
        == 200
    )


def _submit(api: Any, order: Order, token: str) -> None:
    answer = api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **_auth(token)
    )
    assert answer.status_code == 200, answer.content


def _clearing(api: Any, order: Order, token: str, fake_stripe: Any, run_worker: Any, editor: Client) -> None:
    """Checkout completed with a bank debit still clearing: the session is complete but unpaid."""
    event = fake_stripe.checkout_session_event(order.stripe_checkout_session_id)
    assert signed_post(api, event).json()["outcome"] == "awaiting_async_payment"


def _processing(
    api: Any, order: Order, token: str, fake_stripe: Any, run_worker: Any, editor: Client
) -> None:
    _pay(api, order, fake_stripe)


def _quality_check(
    api: Any, order: Order, token: str, fake_stripe: Any, run_worker: Any, editor: Client
) -> None:
    _pay(api, order, fake_stripe)
    run_worker()


def _rejected(api: Any, order: Order, token: str, fake_stripe: Any, run_worker: Any, editor: Client) -> None:
    _quality_check(api, order, token, fake_stripe, run_worker, editor)
    _submit(api, order, token)
    assert (
        editor.post(f"/admin/purchases/order/{order.id}/reject/", {"reason": "Nearer the intro."}).status_code
        == 302
    )


def _published(api: Any, order: Order, token: str, fake_stripe: Any, run_worker: Any, editor: Client) -> None:
    _quality_check(api, order, token, fake_stripe, run_worker, editor)
    _submit(api, order, token)
    assert editor.post(f"/admin/purchases/order/{order.id}/publish/").status_code == 302


def _refunded(api: Any, order: Order, token: str, fake_stripe: Any, run_worker: Any, editor: Client) -> None:
    _quality_check(api, order, token, fake_stripe, run_worker, editor)
    order_refund(order_id=order.id, actor=_user(editor), reason="changed my mind")


STATES: dict[str, tuple[Callable[..., None], str, str]] = {
    "pending payment": (lambda *args: None, "PENDING_PAYMENT", "We are waiting for your payment"),
    "payment clearing": (_clearing, "PENDING_PAYMENT", "Your payment has been made and is still clearing"),
    "processing": (_processing, "PROCESSING", "We are weaving your link"),
    "quality check with a draft": (_quality_check, "QUALITY_CHECK", "Your draft is ready"),
    "rejected with a reason": (
        _rejected,
        "QUALITY_CHECK",
        "Our editor asked for changes: “Nearer the intro.”",
    ),
    "published": (_published, "PUBLISHED", "Your link is live in"),
    "refunded": (_refunded, "REFUNDED", "We refunded 49.00 USD"),
}


@pytest.mark.parametrize("state", list(STATES))
def test_the_status_endpoint_reads_an_order_in_at_most_two_queries(
    state: str,
    api: Any,
    article: Any,
    fake_stripe: Any,
    fake_openai: Any,
    run_worker: Any,
    editor: Client,
    django_assert_max_num_queries: Any,
) -> None:
    fake_openai.script(GOOD)
    order, token = make_order(article)
    bring, expected_status, message_start = STATES[state]
    bring(api, order, token, fake_stripe, run_worker, editor)
    recent_job_seconds_forget()  # as in a process just started: nothing kept

    for _read in ("cold", "warm"):
        with django_assert_max_num_queries(MAX_STATUS_QUERIES):
            answer = api.get(f"/api/v1/purchase/status/{order.id}", **_auth(token))

        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == expected_status
        assert body["statusMessage"].startswith(message_start), body["statusMessage"]
