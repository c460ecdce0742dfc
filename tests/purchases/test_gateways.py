"""The payment gateway: Stripe or the local TEST MODE, chosen once from settings, one interface."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from purchases import test_mode
from purchases.gateways import PaymentGatewayUnavailable, StripeGateway, payment_gateway

ROOT = Path(__file__).resolve().parents[2]


def session_params(order_id: str = "order-1") -> dict[str, Any]:
    return {
        "order_id": order_id,
        "product_name": "Backlink in “Sleep”",
        "amount_minor": 4900,
        "currency": "usd",
        "customer_email": "buyer@example.com",
        "success_url": "http://testserver/orders/1/?paid=1",
        "cancel_url": "http://testserver/orders/1/?cancelled=1",
        "expires_at": timezone.now(),
    }


def test_tests_pay_through_stripe_by_default(fake_stripe: Any) -> None:
    gateway = payment_gateway()

    session = gateway.checkout_session_create(**session_params())

    assert isinstance(gateway, StripeGateway) and not gateway.is_local_test_mode
    assert session.id in fake_stripe.sessions


def test_without_a_stripe_key_the_gateway_is_the_local_test_mode(local_test_payments: Any) -> None:
    gateway = payment_gateway()

    session = gateway.checkout_session_create(**session_params())

    assert isinstance(gateway, test_mode.TestModeGateway) and gateway.is_local_test_mode
    assert session.url == f"http://testserver/purchase/test-checkout/{session.id}/"
    assert local_test_payments.requests == []


def test_the_gateway_is_chosen_once_and_again_when_the_setting_changes(settings: Any) -> None:
    stripe_gateway = payment_gateway()
    assert payment_gateway() is stripe_gateway

    settings.STRIPE_LOCAL_TEST_MODE = True

    assert payment_gateway().is_local_test_mode


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("checkout_session_create", session_params()),
        (
            "refund_create",
            {
                "payment_intent_id": "pi_1",
                "amount_minor": None,
                "amount_left_minor": 4900,
                "idempotency_key": "refund-1-full",
                "metadata": {},
            },
        ),
        ("checkout_sessions_list_paid", {"created_gte": 0}),
    ],
)
def test_a_stripe_failure_is_the_gateway_being_unavailable(
    fake_stripe: Any, method: str, params: dict[str, Any]
) -> None:
    fake_stripe.fail_next(503, headers={"Stripe-Should-Retry": "false"})

    with pytest.raises(PaymentGatewayUnavailable, match="Simulated failure"):
        getattr(payment_gateway(), method)(**params)


def test_a_simulated_full_refund_pays_back_what_is_left_and_a_retry_gets_the_same_refund(
    local_test_payments: Any,
) -> None:
    gateway = payment_gateway()
    params: dict[str, Any] = {
        "payment_intent_id": "pi_test_local_1",
        "amount_left_minor": 3900,
        "metadata": {},
    }

    full = gateway.refund_create(amount_minor=None, idempotency_key="refund-1-full-after-1000", **params)
    again = gateway.refund_create(amount_minor=None, idempotency_key="refund-1-full-after-1000", **params)
    part = gateway.refund_create(amount_minor=500, idempotency_key="refund-1-500", **params)

    assert (full.amount, full.status) == (3900, "succeeded")
    assert full.id == again.id and full.id.startswith(test_mode.TEST_REFUND_PREFIX)
    assert part.amount == 500 and part.id != full.id
    assert local_test_payments.requests == []


def test_the_local_test_mode_has_no_sessions_to_list(local_test_payments: Any) -> None:
    assert payment_gateway().checkout_sessions_list_paid(created_gte=0) == []


@pytest.mark.slow
@pytest.mark.parametrize(("use_test_mode", "expected"), [(False, "StripeGateway"), (True, "TestModeGateway")])
def test_a_process_started_by_a_test_chooses_the_same_gateway(
    request: Any, use_test_mode: bool, expected: str
) -> None:
    """The fault tests' worker processes read ``blogorder.settings.test`` from the environment."""
    if use_test_mode:
        request.getfixturevalue("local_test_payments")
    code = (
        "import django; django.setup(); from purchases.gateways import payment_gateway; "
        "print(type(payment_gateway()).__name__)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "blogorder.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == expected
