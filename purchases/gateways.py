"""The payment gateway: Stripe, or the local TEST MODE that simulates it, chosen once from settings.

Services ask ``payment_gateway()`` and call it; they never look at ``STRIPE_LOCAL_TEST_MODE``.
Both gateways speak Stripe's terms (Checkout Sessions, PaymentIntents, idempotency keys) because
the test mode is a simulated Stripe, and both return the adapter's plain value types. Neither
touches the ORM: callers pass ids and amounts.

The choice is cached for the life of the process and forgotten when Django's ``setting_changed``
signal reports a ``STRIPE_*`` change, so a test that switches modes gets the other gateway.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from purchases import stripe_api
from purchases.stripe_api import CheckoutSession, Refund
from purchases.test_mode import TestModeGateway

__all__ = [
    "CheckoutSession",
    "PaymentGateway",
    "PaymentGatewayUnavailable",
    "Refund",
    "StripeGateway",
    "TestModeGateway",
    "payment_gateway",
]


class PaymentGatewayUnavailable(Exception):
    """The payment provider could not be reached or refused the request; nothing was done there."""


class PaymentGateway(Protocol):
    """What the checkout, refund and reconciliation services need from a payment provider."""

    # True only for the simulated Stripe: its checkout page exists and nothing is ever listed.
    is_local_test_mode: bool

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
        """Open a payment page for the order: the session id to store and the URL to send the customer to."""
        ...

    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int | None,
        amount_left_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Refund:
        """Refund ``amount_minor``, or everything left when it is None; the same key makes one refund.

        ``amount_left_minor`` is what our records say is left to refund. Stripe knows better and
        ignores it; a gateway that cannot ask a provider refunds that much for a full refund.
        """
        ...

    def checkout_session_retrieve(self, *, session_id: str) -> dict[str, Any] | None:
        """The Checkout Session as the provider has it now, as a plain dict; None when it has none to show."""
        ...

    def payment_receipt_url(self, *, payment_intent_id: str) -> str | None:
        """The provider's receipt page for a payment; None when it has none (yet)."""
        ...

    def checkout_sessions_list_paid(self, *, created_gte: int) -> list[dict[str, Any]]:
        """Every paid Checkout Session created at or after ``created_gte`` (unix time), as plain dicts."""
        ...

    def refunds_list(self, *, created_gte: int) -> list[dict[str, Any]]:
        """Every refund created at or after ``created_gte``, any status, as plain dicts (Stripe's Refund)."""
        ...

    def disputes_list(self, *, created_gte: int) -> list[dict[str, Any]]:
        """Every dispute created at or after ``created_gte``, any status, as plain dicts (Stripe's Dispute)."""
        ...


class StripeGateway:
    """Real Stripe through ``purchases.stripe_api``; its failures become ``PaymentGatewayUnavailable``."""

    is_local_test_mode = False

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
        """A Stripe Checkout Session; its idempotency key is the order id, so a retry gets the same one."""
        try:
            return stripe_api.checkout_session_create(
                order_id=order_id,
                product_name=product_name,
                amount_minor=amount_minor,
                currency=currency,
                customer_email=customer_email,
                success_url=success_url,
                cancel_url=cancel_url,
                expires_at=expires_at,
            )
        except stripe_api.StripeUnavailable as exc:
            raise PaymentGatewayUnavailable(str(exc)) from exc

    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int | None,
        amount_left_minor: int,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> Refund:
        """A Stripe Refund; a full one sends no amount, so Stripe refunds whatever it still holds."""
        try:
            return stripe_api.refund_create(
                payment_intent_id=payment_intent_id,
                amount_minor=amount_minor,
                idempotency_key=idempotency_key,
                metadata=metadata,
            )
        except stripe_api.StripeUnavailable as exc:
            raise PaymentGatewayUnavailable(str(exc)) from exc

    def checkout_session_retrieve(self, *, session_id: str) -> dict[str, Any] | None:
        try:
            return stripe_api.checkout_session_retrieve(session_id=session_id)
        except stripe_api.StripeUnavailable as exc:
            raise PaymentGatewayUnavailable(str(exc)) from exc

    def payment_receipt_url(self, *, payment_intent_id: str) -> str | None:
        """The charge's ``receipt_url`` (``stripe_api.payment_receipt_url``)."""
        try:
            return stripe_api.payment_receipt_url(payment_intent_id=payment_intent_id)
        except stripe_api.StripeUnavailable as exc:
            raise PaymentGatewayUnavailable(str(exc)) from exc

    def checkout_sessions_list_paid(self, *, created_gte: int) -> list[dict[str, Any]]:
        try:
            return stripe_api.checkout_sessions_list_paid(created_gte=created_gte)
        except stripe_api.StripeUnavailable as exc:
            raise PaymentGatewayUnavailable(str(exc)) from exc

    def refunds_list(self, *, created_gte: int) -> list[dict[str, Any]]:
        try:
            return stripe_api.refunds_list(created_gte=created_gte)
        except stripe_api.StripeUnavailable as exc:
            raise PaymentGatewayUnavailable(str(exc)) from exc

    def disputes_list(self, *, created_gte: int) -> list[dict[str, Any]]:
        try:
            return stripe_api.disputes_list(created_gte=created_gte)
        except stripe_api.StripeUnavailable as exc:
            raise PaymentGatewayUnavailable(str(exc)) from exc


@functools.cache
def payment_gateway() -> PaymentGateway:
    """The gateway for this process: the simulated Stripe when no STRIPE_SECRET_KEY is set, else Stripe.

    The only place that reads ``STRIPE_LOCAL_TEST_MODE`` at run time.
    """
    if settings.STRIPE_LOCAL_TEST_MODE:
        return TestModeGateway()
    return StripeGateway()


@receiver(setting_changed)
def _payment_gateway_forget(*, setting: str, **kwargs: Any) -> None:
    """Tests override settings: choose again on the next call."""
    if setting.startswith("STRIPE_"):
        payment_gateway.cache_clear()
