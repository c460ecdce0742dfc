"""The Stripe adapter's client: one per process and settings, so a thread's calls share a connection."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings

from purchases import stripe_api
from tests.fakes.stripe_server import FakeStripe


def test_a_threads_calls_to_stripe_reuse_one_connection(fake_stripe: FakeStripe) -> None:
    """A client per call opened a new connection (TCP and, against Stripe, TLS) for every call."""
    stripe_api.refunds_list(created_gte=0)
    stripe_api.disputes_list(created_gte=0)
    stripe_api.refunds_list(created_gte=0)
    connections = {r.connection for r in fake_stripe.requests}
    assert len(fake_stripe.requests) == 3
    assert len(connections) == 1, connections


def test_the_client_is_built_once_and_rebuilt_when_its_settings_change(settings: Any) -> None:
    first = stripe_api._client()
    assert stripe_api._client() is first
    settings.STRIPE_SECRET_KEY = "sk_test_other"
    assert stripe_api._client() is not first


def test_a_worker_builds_the_client_before_it_forks(settings: Any) -> None:
    stripe_api._client_for.cache_clear()
    stripe_api.client_preload()  # in WORKER_PRELOAD_CALLS, run by worker_preload
    assert stripe_api._client_for.cache_info().currsize == 1
    assert "purchases.stripe_api.client_preload" in django_settings.WORKER_PRELOAD_CALLS


def test_without_stripe_configured_the_preload_builds_nothing(local_test_payments: FakeStripe) -> None:
    stripe_api._client_for.cache_clear()
    stripe_api.client_preload()
    assert stripe_api._client_for.cache_info().currsize == 0
