"""POST /api/v1/purchase/webhook: signature, routing, and exactly-once effects."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django_rq
import pytest

from purchases.models import Order, OrderStatus, OrderTransition, StripeEvent
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order
from tests.fakes import sign_stripe_payload


def queued_job_ids() -> list[str]:
    return django_rq.get_queue("backlink-integration").job_ids


@pytest.mark.django_db(transaction=True)
def test_a_paid_completion_moves_the_order_to_processing_and_enqueues_one_job(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    response = signed_post(api, checkout_event(order))
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.stripe_payment_intent_id == "pi_123"
    assert order.queue_job_id == f"backlink-{order.id}-run-1"
    assert queued_job_ids() == [order.queue_job_id]
    transition = OrderTransition.objects.get(order=order)
    assert (transition.from_status, transition.to_status, transition.source) == (
        "PENDING_PAYMENT",
        "PROCESSING",
        "stripe",
    )


@pytest.mark.django_db(transaction=True)
def test_async_payment_succeeded_after_an_unpaid_completion_starts_the_work(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    signed_post(api, checkout_event(order, event_id="evt_a", payment_status="unpaid"))
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert queued_job_ids() == []
    signed_post(
        api, checkout_event(order, event_id="evt_b", event_type="checkout.session.async_payment_succeeded")
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert len(queued_job_ids()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_event_changes_nothing_more(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    payload = checkout_event(order)
    assert signed_post(api, payload).json()["outcome"] == "paid"
    assert signed_post(api, payload).json()["outcome"] == "duplicate"
    other = checkout_event(order, event_id="evt_other", event_type="checkout.session.async_payment_succeeded")
    assert signed_post(api, other).json()["outcome"] == "already_paid"
    assert OrderTransition.objects.filter(order=order).count() == 1
    assert len(queued_job_ids()) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_five_simultaneous_deliveries_make_one_change_and_one_job(
    live_server: Any, article: Any, settings: Any
) -> None:
    order, _ = make_order(article)
    payload = checkout_event(order, event_id="evt_burst")

    def deliver(_: int) -> int:
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/purchase/webhook",
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign_stripe_payload(payload, settings.STRIPE_WEBHOOK_SECRET),
            },
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            return int(response.status)

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(deliver, range(5)))
    assert statuses == [200] * 5
    assert StripeEvent.objects.filter(event_id="evt_burst").count() == 1
    assert OrderTransition.objects.filter(order=order).count() == 1
    assert queued_job_ids() == [f"backlink-{order.id}-run-1"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "header",
    [
        "",  # missing
        "t=1,v1=deadbeef",  # forged
        "garbage",
        "stale",
        "wrong-secret",
    ],
)
def test_a_bad_signature_is_400_and_writes_nothing(api: Any, article: Any, header: str) -> None:
    order, _ = make_order(article)
    payload = checkout_event(order)
    if header == "stale":
        header = sign_stripe_payload(payload, "whsec_test_secret", timestamp=int(time.time()) - 3600)
    elif header == "wrong-secret":
        header = sign_stripe_payload(payload, "whsec_someone_else")
    response = (
        signed_post(api, payload, header=header)
        if header
        else api.post("/api/v1/purchase/webhook", data=payload, content_type="application/json")
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert StripeEvent.objects.count() == 0
    assert queued_job_ids() == []


@pytest.mark.django_db
def test_a_tampered_body_fails_verification(api: Any, article: Any) -> None:
    order, _ = make_order(article)
    payload = checkout_event(order)
    header = sign_stripe_payload(payload, "whsec_test_secret")
    tampered = payload.replace(b'"paid"', b'"unpaid"')
    assert signed_post(api, tampered, header=header).status_code == 400


@pytest.mark.django_db
def test_other_event_types_are_acknowledged_and_ignored(api: Any) -> None:
    payload = json.dumps(
        {"id": "evt_x", "object": "event", "type": "customer.created", "data": {"object": {}}}
    ).encode()
    response = signed_post(api, payload)
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_payment_for_an_article_that_sold_out_meanwhile_is_honoured_and_staff_told(
    api: Any, mailoutbox: Any
) -> None:
    from django.utils import timezone

    from tests.factories import make_published_article

    article = make_published_article(max_backlinks=1)
    late, _ = make_order(article)
    Order.objects.filter(pk=late.pk).update(checkout_expires_at=timezone.now())  # its hold lapsed
    winner, _ = make_order(article)
    signed_post(api, checkout_event(winner, event_id="evt_w"))
    signed_post(api, checkout_event(late, event_id="evt_l"))
    late.refresh_from_db()
    assert late.status == OrderStatus.PROCESSING
    assert any("over the article's limit" in m.subject for m in mailoutbox)


@pytest.mark.django_db
def test_an_event_for_an_unknown_order_is_acknowledged(api: Any) -> None:
    payload = json.dumps(
        {
            "id": "evt_u",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_x", "client_reference_id": "not-a-uuid", "payment_status": "paid"}},
        }
    ).encode()
    response = signed_post(api, payload)
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_order"


BAD_REFUND_AMOUNTS: list[dict[str, Any]] = [
    {"amount": 4900, "amount_refunded": -100},
    {"amount": 4900, "amount_refunded": 10.5},
    {"amount": 4900, "amount_refunded": True},
    {"amount": "4900", "amount_refunded": "4900"},
    {"amount": 4900, "amount_refunded": 5000},  # more than the charge
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event",
    [
        {"object": "event", "type": "checkout.session.completed", "data": {"object": {}}},  # no id
        {"id": "evt_m1", "object": "event", "type": "checkout.session.completed", "data": {}},
        {"id": "evt_m2", "object": "event", "type": "checkout.session.completed", "data": {"object": "x"}},
        {
            "id": "evt_m3",
            "object": "event",
            "type": "charge.refunded",
            "data": {
                "object": {"id": "ch_1", "payment_intent": "pi_123", "amount": "lots", "amount_refunded": "x"}
            },
        },
        {"id": "evt_m4", "object": "event", "type": ["charge.refunded"], "data": {"object": {}}},
        {"id": "evt_m5", "object": "event", "type": "checkout.session.completed", "data": "x"},
        {"id": "evt_m6", "object": "event", "type": "charge.refunded", "data": [{"object": {}}]},
        {
            "id": "evt_m7",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_1", "payment_status": "paid", "metadata": "order 1"}},
        },
        {
            "id": "evt_m8",
            "object": "event",
            "type": "charge.refunded",
            "data": {"object": {"id": "ch_1", "amount": 100, "amount_refunded": 100, "metadata": ["x"]}},
        },
        *(
            {
                "id": f"evt_amount_{i}",
                "object": "event",
                "type": "charge.refunded",
                "data": {"object": {"id": "ch_1", "payment_intent": "pi_123", **amounts}},
            }
            for i, amounts in enumerate(BAD_REFUND_AMOUNTS)
        ),
    ],
)
def test_a_signed_but_malformed_event_is_400_and_writes_nothing(api: Any, article: Any, event: dict) -> None:
    order, _ = make_order(article)
    Order.objects.filter(pk=order.pk).update(stripe_payment_intent_id="pi_123", status=OrderStatus.PROCESSING)
    response = signed_post(api, json.dumps(event).encode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        b"null",
        b"[]",
        b'"evt_1"',
        b"{not json",
        b"[" * 10_000 + b"]" * 10_000,  # deeper than the JSON decoder can go
        b'{"id": "evt_deep", "type": "checkout.session.completed", "data": {"object": '
        + b"[" * 10_000
        + b"]" * 10_000
        + b"}}",
    ],
)
def test_a_signed_body_that_is_not_a_json_object_is_400_invalid_event(
    api: Any, article: Any, payload: bytes
) -> None:
    response = signed_post(api, payload)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"
    assert StripeEvent.objects.count() == 0


def test_a_body_that_is_not_utf8_is_400_invalid_signature(api: Any) -> None:
    # Stripe signs the UTF-8 text; bytes that do not decode cannot be verified at all.
    response = signed_post(api, b'{"id": "evt_\xff"}')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"


def _completion(order: Order, **session: Any) -> dict[str, Any]:
    event = json.loads(checkout_event(order))
    event["data"]["object"].update(session)
    return dict(event)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"id": "evt_" + "x" * 300},  # longer than any Stripe id column
        {"object": {"id": "cs_" + "x" * 300}},
        {"object": {"payment_intent": "pi_" + "x" * 300}},
        {"id": "evt_\ud800"},  # a lone surrogate (JSON can spell it, UTF-8 cannot)
        {"object": {"metadata": {"order_id": "x", "note": "\ud800"}}},
        {"object": {"metadata": {"order_id": "x", "note": "a\u0000b"}}},  # PostgreSQL stores no NUL
        {
            "object": {"metadata": {"order_id": "x", "deep": json.loads("[" * 100 + "]" * 100)}}
        },  # ~900 levels exhausted the stack
    ],
)
def test_a_signed_event_we_cannot_store_is_400_invalid_event_and_changes_nothing(
    api: Any, article: Any, change: dict[str, Any]
) -> None:
    order, _ = make_order(article)
    event = _completion(order, **change.pop("object", {}))
    event.update(change)
    response = signed_post(api, json.dumps(event).encode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"
    assert StripeEvent.objects.count() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "accept"), [("", "text/html"), ("?format=api", "*/*")])
def test_a_delivery_asking_for_html_gets_a_json_error_not_a_500(api: Any, query: str, accept: str) -> None:
    # The webhook has no parser (it reads the raw body), which DRF's browsable HTML renderer needs.
    response = api.post(
        f"/api/v1/purchase/webhook{query}", data=b"{}", content_type="application/json", HTTP_ACCEPT=accept
    )
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()
    assert StripeEvent.objects.count() == 0
