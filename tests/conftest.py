"""Shared fixtures: real Redis (flushed per test), a real RQ worker in burst mode, fake Stripe/OpenAI servers.

Payments go to the fake Stripe server through the real stripe client in every test (one server
for the session, emptied before each test); ``local_test_payments`` switches a test to the
simulated Stripe of local TEST MODE.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import django_rq
import pytest
import redis.connection
from django.conf import settings
from django.core import mail
from rest_framework.test import APIClient
from rq import SimpleWorker

from tests.factories import make_published_article
from tests.fakes import FakeAlertWebhook, FakeOpenAI, FakeStripe, sign_stripe_payload
from tests.fakes.mail_backend import FAKE_MAIL, FakeMailProvider


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked ``postgres`` need row locks and real concurrency, a database a worker process
    shares, or schema changes inside a transaction; SQLite runs skip them, saying so."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL (set DATABASE_URL): concurrent row locks, a database shared with a "
        "worker process, or schema changes inside a transaction"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Every test starts with an empty Redis database (tests use their own DB number)."""
    connection = django_rq.get_connection("backlink-integration")
    connection.flushdb()
    yield
    connection.flushdb()


@pytest.fixture
def redis_round_trips(monkeypatch: pytest.MonkeyPatch) -> Callable[[], AbstractContextManager[list[bytes]]]:
    """``with redis_round_trips() as sent:``: the requests redis-py sends inside the block, one
    entry a round trip (a pipeline's MULTI … EXEC is one), counted at the client's socket."""
    send = redis.connection.AbstractConnection.send_packed_command

    @contextmanager
    def counting() -> Iterator[list[bytes]]:
        sent: list[bytes] = []

        def counted(self: Any, command: Any, check_health: bool = True) -> None:
            sent.append(command if isinstance(command, bytes) else b"".join(command))
            send(self, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
        try:
            yield sent
        finally:
            monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)

    return counting


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def run_worker() -> Any:
    """Run a real RQ worker in burst mode over every queue (as production's worker) until they are empty."""

    def _run() -> bool:
        names = ("article-generation", "backlink-integration", "maintenance")
        queues = [django_rq.get_queue(name) for name in names]
        worker = SimpleWorker(queues, connection=queues[0].connection)
        return bool(worker.work(burst=True, with_scheduler=True))

    return _run


@pytest.fixture
def fake_openai(settings: Any) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        settings.OPENAI_API_KEY = "sk-test-fake"
        settings.OPENAI_BASE_URL = f"{fake.url}/v1"
        settings.OPENAI_MODEL = "gpt-test"
        yield fake


@pytest.fixture(scope="session")
def _stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(autouse=True)
def fake_stripe(
    _stripe_server: FakeStripe, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeStripe]:
    """Every test pays through the real stripe client against the fake Stripe server, emptied per test.

    The ``TEST_STRIPE_*`` variables carry the same choice to processes a test starts (the fault
    tests' workers read them in ``blogorder.settings.test``). Tests of the local TEST MODE (the
    simulated Stripe) ask for ``local_test_payments`` instead.
    """
    _stripe_server.reset()
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = _stripe_server.url
    settings.STRIPE_LOCAL_TEST_MODE = False
    monkeypatch.setenv("TEST_STRIPE_SECRET_KEY", settings.STRIPE_SECRET_KEY)
    monkeypatch.setenv("TEST_STRIPE_API_BASE", settings.STRIPE_API_BASE)
    yield _stripe_server
    assert not _stripe_server.errors, "the fake Stripe server crashed:\n" + "\n".join(_stripe_server.errors)


@pytest.fixture
def local_test_payments(
    fake_stripe: FakeStripe, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> FakeStripe:
    """Payments go through the local TEST MODE gateway, as on a machine without STRIPE_SECRET_KEY.

    Returns the fake Stripe server, so a test can check that nothing reached it.
    """
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_API_BASE = ""
    settings.STRIPE_LOCAL_TEST_MODE = True
    monkeypatch.setenv("TEST_STRIPE_SECRET_KEY", "")
    monkeypatch.setenv("TEST_STRIPE_API_BASE", "")
    return fake_stripe


@pytest.fixture
def alert_webhook(settings: Any) -> Iterator[FakeAlertWebhook]:
    """``ALERT_WEBHOOK_URL`` pointed at a local fake receiver that records each alert POST."""
    with FakeAlertWebhook() as fake:
        settings.ALERT_WEBHOOK_URL = f"{fake.url}/hooks/alerts"
        settings.ALERT_WEBHOOK_TIMEOUT_SECONDS = 2
        yield fake
    assert not fake.errors, "the fake alert webhook crashed:\n" + "\n".join(fake.errors)


@pytest.fixture
def fake_mail(settings: Any, mailoutbox: Any) -> Iterator[FakeMailProvider]:
    """The mail provider at the backend boundary: messages land in ``mailoutbox``; sends can be held or failed."""
    settings.EMAIL_BACKEND = "tests.fakes.mail_backend.RecordingEmailBackend"
    FAKE_MAIL.reset()
    yield FAKE_MAIL
    FAKE_MAIL.reset()


@pytest.fixture
def article(db: Any) -> Any:
    return make_published_article()


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> None:
    """Poll ``predicate`` every 0.1 s until it is truthy; fail the test after ``timeout`` seconds
    (what a test waits for from a worker process or a server it started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def signed_post(client: Any, payload: bytes, *, secret: str | None = None, header: str | None = None) -> Any:
    signature = (
        header
        if header is not None
        else sign_stripe_payload(payload, secret or settings.STRIPE_WEBHOOK_SECRET)
    )
    extra = {"HTTP_STRIPE_SIGNATURE": signature} if signature else {}
    return client.post("/api/v1/purchase/webhook", data=payload, content_type="application/json", **extra)


def checkout_event(
    order: Any,
    *,
    event_id: str = "evt_1",
    event_type: str = "checkout.session.completed",
    payment_status: str = "paid",
) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "api_version": settings.STRIPE_API_VERSION,
            "created": 1,
            "livemode": False,
            "data": {
                "object": {
                    "id": order.stripe_checkout_session_id,
                    "object": "checkout.session",
                    "payment_status": payment_status,
                    "client_reference_id": str(order.id),
                    "metadata": {"order_id": str(order.id)},
                    "payment_intent": "pi_123",
                    "amount_total": order.amount_minor,
                    "currency": order.currency,
                }
            },
        }
    ).encode()


def outbox_for(order: Any) -> list[Any]:
    return [m for m in mail.outbox if order.customer_email in m.to]


def job_left_on_queue(order: Any) -> None:
    """Put the order's current job on RQ directly, as if taking it off had failed (Redis unreachable then).

    Bypasses the outbox on purpose: ``job_put`` refuses a request that is no longer open.
    """
    from queueing.models import JobRequest

    request = JobRequest.objects.get(job_id=order.queue_job_id)
    django_rq.get_queue(request.queue).enqueue_call(
        request.func, kwargs=request.kwargs, job_id=request.job_id
    )
