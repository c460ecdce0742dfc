"""LOCAL TEST MODE (simulated Stripe) for machines without STRIPE_SECRET_KEY.

``TestModeGateway`` is the payment gateway then (``purchases.gateways.payment_gateway`` picks
it): checkout goes to a local page plainly labelled as test mode, refunds are simulated and there
are no sessions to reconcile. The page's Pay button builds a ``checkout.session.completed``
event, signs it exactly as Stripe does (``t=…,v1=HMAC-SHA256`` with the endpoint secret) and
POSTs it to the real webhook endpoint. No money moves. With a Stripe key configured, none of
this is reachable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.request
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from purchases.models import Order
from purchases.stripe_api import CheckoutSession, Refund

TEST_SESSION_PREFIX = "cs_test_local_"
TEST_REFUND_PREFIX = "re_test_local_"
# Simulated payments carry this payment reference: the order page says no money moved.
TEST_PAYMENT_INTENT_PREFIX = "pi_test_local_"


class TestModeGateway:
    """TEST MODE ONLY: the simulated Stripe; no money moves and Stripe is never called.

    Never fails, so the services' "provider unavailable" paths are Stripe's alone.
    """

    is_local_test_mode = True

    def checkout_session_create(
        self,
        *,
        order_id: str,
        product_name: str,
        amount_minor: int,
        currency: str,
        customer_email: str,
        success_url: str,
        cancel_url: str,
        expires_at: datetime,
    ) -> CheckoutSession:
        """A new simulated session whose URL is the local test checkout page.

        Nothing else is needed: the page finds the order by the session id stored on it.
        """
        session_id = TEST_SESSION_PREFIX + secrets.token_hex(12)
        url = settings.SITE_URL + reverse("purchases:test-checkout", kwargs={"session_id": session_id})
        return CheckoutSession(id=session_id, url=url)

    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int | None,
        amount_left_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Refund:
        """A simulated refund of ``amount_minor``, or of ``amount_left_minor`` when it is None.

        The id is derived from the idempotency key, so a retry gets the same refund, as it would
        from Stripe.
        """
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        amount = amount_left_minor if amount_minor is None else amount_minor
        return Refund(id=TEST_REFUND_PREFIX + digest, status="succeeded", amount=amount)

    def checkout_session_retrieve(self, *, session_id: str) -> dict[str, Any] | None:
        """None: the test page delivers its payment event to the webhook at once, before the return."""
        return None

    def payment_receipt_url(self, *, payment_intent_id: str) -> str | None:
        """None: no money moved, so there is no receipt (the order page says it was a test payment)."""
        return None

    def checkout_sessions_list_paid(self, *, created_gte: int) -> list[dict[str, Any]]:
        """Nothing: simulated payments reach the webhook at once, so there is nothing to reconcile."""
        return []

    def refunds_list(self, *, created_gte: int) -> list[dict[str, Any]]:
        """Nothing: simulated refunds are recorded when they are made."""
        return []

    def disputes_list(self, *, created_gte: int) -> list[dict[str, Any]]:
        """Nothing: nobody can dispute a simulated payment."""
        return []


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
        "payment_intent": TEST_PAYMENT_INTENT_PREFIX + secrets.token_hex(10),
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
