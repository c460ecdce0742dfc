"""LOCAL TEST MODE (simulated Stripe) for machines without STRIPE_SECRET_KEY.

Checkout goes to a local page plainly labelled as test mode; its Pay button builds a
``checkout.session.completed`` event, signs it exactly as Stripe does (``t=…,v1=HMAC-SHA256``
with the endpoint secret) and POSTs it to the real webhook endpoint. No money moves. With a
Stripe key configured, none of this is reachable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.urls import reverse

from purchases.models import Order
from purchases.stripe_api import CheckoutSession, Refund

TEST_SESSION_PREFIX = "cs_test_local_"
TEST_REFUND_PREFIX = "re_test_local_"


def checkout_session_create(*, order: Order) -> CheckoutSession:
    session_id = TEST_SESSION_PREFIX + secrets.token_hex(12)
    url = settings.SITE_URL + reverse("purchases:test-checkout", kwargs={"session_id": session_id})
    return CheckoutSession(id=session_id, url=url)


def refund_create(
    *, payment_intent_id: str, amount_minor: int, idempotency_key: str, metadata: dict[str, str]
) -> Refund:
    """TEST MODE ONLY: a simulated refund; no money moves and Stripe is not called.

    Stands in for ``stripe_api.refund_create`` when no STRIPE_SECRET_KEY is set, so refunds work
    end to end on a developer machine. The id is derived from the idempotency key, so a retry
    gets the same refund, as it would from Stripe. ``amount_minor`` is what is left to refund.
    """
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
    return Refund(id=TEST_REFUND_PREFIX + digest, status="succeeded", amount=amount_minor)


def checkout_completed_event(
    *, order: Order, event_type: str = "checkout.session.completed"
) -> dict[str, Any]:
    """The event Stripe would send for this order's session, paid by card."""
    now = int(time.time())
    session = {
        "id": order.stripe_checkout_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "client_reference_id": str(order.id),
        "metadata": {"order_id": str(order.id)},
        "customer_email": order.customer_email,
        "amount_total": order.amount_minor,
        "currency": order.currency,
        "payment_intent": "pi_test_local_" + secrets.token_hex(10),
        "created": now,
        "livemode": False,
    }
    return {
        "id": "evt_test_local_" + secrets.token_hex(12),
        "object": "event",
        "api_version": settings.STRIPE_API_VERSION,
        "created": now,
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": session},
    }


def sign_payload(payload: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """Stripe's signature scheme: ``t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def deliver_event(event: dict[str, Any], *, base_url: str | None = None, timeout: float = 15) -> int:
    """POST the signed event to the webhook endpoint over HTTP, as Stripe would. Returns the status."""
    payload = json.dumps(event).encode()
    url = (base_url or settings.SITE_URL) + reverse("purchase-api:stripe-webhook")
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign_payload(payload, secret=settings.STRIPE_WEBHOOK_SECRET),
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (our own URL)
        return int(response.status)
