"""Adapter for the Stripe API through the official stripe library. Never touches the ORM.

The API version is pinned (``STRIPE_API_VERSION``); ``STRIPE_API_BASE`` points the library at
another host (stripe-mock, or the fake server the tests run).
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount: int  # minor units


class StripeUnavailable(Exception):
    """Stripe could not be reached or refused the request."""


class MalformedEvent(Exception):
    """A correctly signed event whose shape we cannot use (no id, no data.object, wrong types)."""


class InvalidSignature(Exception):
    """The webhook payload is not signed with our endpoint secret (or is stale)."""


def _client() -> stripe.StripeClient:
    """The process's client for the current settings (thread-safe), as the model's client is.

    One per call before: each call then opened a new connection (its own ``requests`` session), so
    a new TCP and TLS handshake with Stripe for every checkout, refund and look-up. Now a thread's
    calls reuse one kept-alive connection (the library keeps a session per thread; a connection
    Stripe closed meanwhile is retried, ``max_network_retries``). The first client of a process also
    loads the library's lazy modules (9-11 ms of CPU with its services): a worker does it before forking
    (``client_preload``); the client opens no connection until a call, so none is shared across a fork.
    """
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_VERSION, settings.STRIPE_API_BASE)


def client_preload() -> None:
    """Build the process's client and its services now (``WORKER_PRELOAD_CALLS``), when Stripe is configured."""
    if settings.STRIPE_SECRET_KEY:
        v1 = _client().v1
        v1.checkout.sessions, v1.refunds, v1.payment_intents, v1.disputes  # noqa: B018 -- loads them now


@functools.lru_cache(maxsize=4)
def _client_for(secret_key: str, api_version: str, api_base: str | None) -> stripe.StripeClient:
    base = {"api": api_base} if api_base else None
    return stripe.StripeClient(
        secret_key,
        stripe_version=api_version,
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=2,
    )


def checkout_session_create(
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
    """A payment-mode Checkout Session; the idempotency key makes a retried call return the same one."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount_minor,
                    "product_data": {"name": product_name[:250]},
                },
            }
        ],
        "client_reference_id": order_id,
        "metadata": {"order_id": order_id},
        "payment_intent_data": {"metadata": {"order_id": order_id}},
        "customer_email": customer_email,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    try:
        session = _client().v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"checkout-{order_id}"},
        )
    except stripe.StripeError as exc:
        logger.warning("stripe checkout session failed", extra={"order_id": order_id, "error": str(exc)})
        raise StripeUnavailable(str(exc)) from exc
    logger.info("stripe checkout session created", extra={"order_id": order_id, "session_id": session.id})
    return CheckoutSession(id=session.id, url=session.url or "")


def refund_create(
    *, payment_intent_id: str, amount_minor: int | None, idempotency_key: str, metadata: dict[str, str]
) -> Refund:
    """Refund a PaymentIntent, in full when ``amount_minor`` is None (whatever is left to refund).

    The idempotency key makes a retried call (our retry, or the library's own) return the same
    refund instead of paying back twice; Stripe refuses the same key with other parameters.
    """
    params: dict[str, Any] = {"payment_intent": payment_intent_id, "metadata": metadata}
    if amount_minor is not None:
        params["amount"] = amount_minor
    try:
        refund = _client().v1.refunds.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as exc:
        logger.warning(
            "stripe refund failed",
            extra={
                "payment_intent": payment_intent_id,
                "idempotency_key": idempotency_key,
                "error": str(exc),
            },
        )
        raise StripeUnavailable(str(exc)) from exc
    logger.info(
        "stripe refund created",
        extra={"payment_intent": payment_intent_id, "refund_id": refund.id, "amount": refund.amount},
    )
    return Refund(id=refund.id, status=str(refund.status or ""), amount=int(refund.amount))


def checkout_session_retrieve(*, session_id: str) -> dict[str, Any]:
    """One Checkout Session as a plain dict, as Stripe has it now (paid or not)."""
    try:
        session = _client().v1.checkout.sessions.retrieve(session_id)
    except stripe.StripeError as exc:
        logger.warning("stripe session retrieve failed", extra={"session_id": session_id, "error": str(exc)})
        raise StripeUnavailable(str(exc)) from exc
    return session.to_dict()


def payment_receipt_url(*, payment_intent_id: str) -> str | None:
    """Stripe's receipt URL for a payment: the ``receipt_url`` of the PaymentIntent's ``latest_charge``.

    One call, the charge expanded; None when the payment has no charge (yet) or the charge no receipt.
    """
    try:
        intent = _client().v1.payment_intents.retrieve(
            payment_intent_id,
            params={"expand": ["latest_charge"]},  # type: ignore[typeddict-item]
        )
    except stripe.StripeError as exc:
        logger.warning(
            "stripe payment intent retrieve failed",
            extra={"payment_intent": payment_intent_id, "error": str(exc)},
        )
        raise StripeUnavailable(str(exc)) from exc
    charge = intent.to_dict().get("latest_charge")
    url = charge.get("receipt_url") if isinstance(charge, dict) else None
    return url if isinstance(url, str) and url else None


def checkout_sessions_list_paid(*, created_gte: int) -> list[dict[str, Any]]:
    """Every Checkout Session created at or after ``created_gte`` (unix time) whose payment is in.

    Pages through the whole list (newest first); Stripe has no filter on ``payment_status``, so
    unpaid and expired sessions are dropped here.
    """
    try:
        page = _client().v1.checkout.sessions.list(params={"created": {"gte": created_gte}, "limit": 100})
        sessions = [session.to_dict() for session in page.auto_paging_iter()]
    except stripe.StripeError as exc:
        logger.warning("stripe session list failed", extra={"created_gte": created_gte, "error": str(exc)})
        raise StripeUnavailable(str(exc)) from exc
    paid = [s for s in sessions if s.get("payment_status") == "paid"]
    logger.info(
        "stripe sessions listed",
        extra={"created_gte": created_gte, "listed": len(sessions), "paid": len(paid)},
    )
    return paid


def _list_all(resource: Any, *, created_gte: int, what: str) -> list[dict[str, Any]]:
    try:
        page = resource.list(params={"created": {"gte": created_gte}, "limit": 100})
        items = [item.to_dict() for item in page.auto_paging_iter()]
    except stripe.StripeError as exc:
        logger.warning(f"stripe {what} list failed", extra={"created_gte": created_gte, "error": str(exc)})
        raise StripeUnavailable(str(exc)) from exc
    logger.info(f"stripe {what} listed", extra={"created_gte": created_gte, "listed": len(items)})
    return items


def refunds_list(*, created_gte: int) -> list[dict[str, Any]]:
    """Every Refund created at or after ``created_gte`` (unix time), whatever its status, as plain dicts."""
    return _list_all(_client().v1.refunds, created_gte=created_gte, what="refunds")


def disputes_list(*, created_gte: int) -> list[dict[str, Any]]:
    """Every Dispute created at or after ``created_gte`` (unix time), whatever its status, as plain dicts."""
    return _list_all(_client().v1.disputes, created_gte=created_gte, what="disputes")


def webhook_event_verify(*, payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """Check ``Stripe-Signature`` against the raw body, then parse it: the event as a plain dict.

    Raises InvalidSignature when the body is not provably Stripe's (no header, wrong or stale
    signature, not UTF-8), and MalformedEvent when it is signed but not a JSON object (not JSON,
    nested deeper than the decoder goes, or an array, string, number or null).
    """
    if not signature_header:
        raise InvalidSignature("missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(
            payload,
            signature_header,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise InvalidSignature(f"payload is not UTF-8: {exc}") from exc
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise MalformedEvent(f"payload is not JSON: {type(exc).__name__}") from exc
    if not isinstance(event, dict):
        raise MalformedEvent("payload is not a JSON object")
    return event
