"""Logs (blogorder/logs.py): JSON or text, each line's context, and no secret in any line.

The flow test runs the real stack (checkout, signed webhook, a real RQ worker with the fake OpenAI
server, the email, the order page with ``?token=``, the reconciler) with production's JSON handler
capturing every line, built from the same ``LOGGING`` production uses.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import import_module
from typing import Any

import django_rq
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from blogorder.logs import (
    REDACTED,
    ContextFilter,
    RedactFilter,
    TextFormatter,
    is_sensitive_key,
    log_context,
    request_id_from,
)
from blogorder.settings.base import logging_config
from blogorder.settings.env import BASE_DIR
from purchases.models import Order
from tests.blogorder.test_settings import deploy_env
from tests.factories import GOOD_BACKLINK_REPLY
from tests.fakes import sign_stripe_payload

GOOD = GOOD_BACKLINK_REPLY


def configured_handler(stream: io.StringIO, *, log_format: str = "json") -> logging.Handler:
    """The console handler ``LOGGING`` describes (formatter and filters), writing to ``stream``."""
    config = logging_config(log_format=log_format)
    spec = config["handlers"]["console"]

    def build(entry: dict[str, Any]) -> Any:
        module, _, name = entry["()"].rpartition(".")
        return getattr(import_module(module), name)()

    handler = logging.StreamHandler(stream)
    handler.setFormatter(build(config["formatters"][spec["formatter"]]))
    for name in spec["filters"]:
        handler.addFilter(build(config["filters"][name]))
    return handler


class Captured:
    """Every line the root logger's handlers would write, as production formats it."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def mark(self) -> int:
        return len(self.stream.getvalue())

    def text(self, since: int = 0) -> str:
        return self.stream.getvalue()[since:]

    def lines(self, since: int = 0, until: int | None = None) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue()[since:until].splitlines()]


@pytest.fixture
def json_logs() -> Iterator[Captured]:
    stream = io.StringIO()
    handler = configured_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)


def one_line(
    logger_name: str, message: str, extra: dict[str, Any] | None = None, *, log_format: str = "json"
) -> str:
    stream = io.StringIO()
    logger = logging.getLogger(logger_name)
    handler = configured_handler(stream, log_format=log_format)
    logger.addHandler(handler)
    try:
        logger.warning(message, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


# --- Formats ------------------------------------------------------------------------------------------


def test_a_json_line_has_timestamp_level_logger_message_and_every_extra() -> None:
    line = one_line(
        "purchases.test", "generation attempt", {"order_id": "o-1", "run": 2, "prompt_tokens": 480}
    )

    assert line.count("\n") == 1
    data = json.loads(line)
    assert list(data)[:4] == ["timestamp", "level", "logger", "message"]
    assert data["timestamp"].endswith("+00:00")
    assert (data["level"], data["logger"], data["message"]) == (
        "WARNING",
        "purchases.test",
        "generation attempt",
    )
    assert (data["order_id"], data["run"], data["prompt_tokens"]) == ("o-1", 2, 480)


def test_a_json_line_keeps_a_traceback_inside_the_one_line() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("purchases.test")
    handler = configured_handler(stream)
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("job failed for good", extra={"job_id": "j-1"})
    finally:
        logger.removeHandler(handler)

    (line,) = stream.getvalue().splitlines()
    data = json.loads(line)
    assert "ValueError: boom" in data["exception"]
    assert data["job_id"] == "j-1"


def test_a_text_line_is_readable_and_shows_the_extras_as_key_value_pairs() -> None:
    line = one_line(
        "purchases.test", "reconcile finished", {"summary": "checked 2 orders", "run": 1}, log_format="text"
    )

    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING purchases\.test reconcile finished "
        r'summary="checked 2 orders" run=1\n',
        line,
    ), line


def test_log_format_chooses_the_formatter_and_refuses_anything_else() -> None:
    assert logging_config(log_format="json")["handlers"]["console"]["formatter"] == "json"
    assert logging_config(log_format="text")["handlers"]["console"]["formatter"] == "text"
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be json or text"):
        logging_config(log_format="yaml")


def log_from_process(*, env: dict[str, str]) -> str:
    code = "import logging; logging.getLogger('purchases.check').warning('hello', extra={'order_id': 'o-9'})"
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "hello" in line]
    return line


def test_production_logs_json_by_default_and_text_when_asked() -> None:
    data = json.loads(log_from_process(env=deploy_env()))
    assert (data["logger"], data["message"], data["order_id"]) == ("purchases.check", "hello", "o-9")

    text = log_from_process(env=deploy_env(LOG_FORMAT="text"))
    assert text.endswith("WARNING purchases.check hello order_id=o-9")


def test_local_settings_log_text_by_default() -> None:
    env = deploy_env(DJANGO_SETTINGS_MODULE="blogorder.settings.local")
    assert log_from_process(env=env).endswith("WARNING purchases.check hello order_id=o-9")


def test_an_unknown_log_format_stops_the_start_up() -> None:
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "check"],
        env=deploy_env(LOG_FORMAT="yaml"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be json or text" in result.stderr


# --- Context ------------------------------------------------------------------------------------------


def test_lines_inside_a_log_context_carry_it_and_an_explicit_extra_wins() -> None:
    with log_context(order_id="o-1", run=3, request_id=None):
        data = json.loads(one_line("purchases.test", "inside", {"run": 4}))
    outside = json.loads(one_line("purchases.test", "outside"))

    assert (data["order_id"], data["run"]) == ("o-1", 4)
    assert "request_id" not in data
    assert "order_id" not in outside


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("req-1.abc_DEF", True),
        ("a" * 200, True),
        ("a" * 201, False),
        ("bad id", False),
        ("evil\nINFO forged line", False),
        ("", False),
        (None, False),
    ],
)
def test_a_request_id_header_is_kept_only_when_it_is_safe_to_log(header: str | None, kept: bool) -> None:
    request_id = request_id_from(header)

    assert (request_id == header) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)


def test_a_response_echoes_the_request_id_it_was_given_or_made(client: Any, db: Any) -> None:
    given = client.get("/healthz", HTTP_X_REQUEST_ID="edge-42")
    made = client.get("/healthz")
    refused = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")

    assert given["X-Request-ID"] == "edge-42"
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", refused["X-Request-ID"])


# --- Secrets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "order_token",
        "orderToken",
        "authorization",
        "password",
        "secret",
        "webhook_secret",
        "api_key",
        "stripe_signature",
        "Stripe-Signature",
        "key",
        "body",
        "html",
        "text",
        "body_html",
    ],
)
def test_an_extra_whose_key_names_a_secret_is_blanked(key: str) -> None:
    assert is_sensitive_key(key)
    data = json.loads(one_line("purchases.test", "leak?", {key: "s3cr3t-value"}))

    assert data[key] == REDACTED
    assert "s3cr3t-value" not in json.dumps(data)


@pytest.mark.parametrize(
    "key", ["prompt_tokens", "completion_tokens", "order_id", "job_id", "summary", "email_id"]
)
def test_ordinary_extras_are_kept(key: str) -> None:
    assert not is_sensitive_key(key)
    assert json.loads(one_line("purchases.test", "fine", {key: 12}))[key] == 12


def test_secrets_inside_nested_extras_messages_and_arguments_are_blanked() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("purchases.test")
    handler = configured_handler(stream)
    logger.addHandler(handler)
    try:
        logger.warning(
            "GET %s with %s",
            "/orders/1/?token=tok-123&x=1",
            "Bearer abc.def-ghi",
            extra={
                "headers": {"Authorization": "Bearer zzz", "Accept": "json"},
                "url": "/orders/mine/?key=k-77",
            },
        )
    finally:
        logger.removeHandler(handler)

    data = json.loads(stream.getvalue())
    assert data["message"] == f"GET /orders/1/?token={REDACTED}&x=1 with Bearer {REDACTED}"
    assert data["headers"] == {"Authorization": REDACTED, "Accept": "json"}
    assert data["url"] == f"/orders/mine/?key={REDACTED}"


def test_the_values_of_secret_settings_never_reach_a_line(settings: Any) -> None:
    settings.OPENAI_API_KEY = "not-shaped-like-a-key-0123"
    settings.STRIPE_WEBHOOK_SECRET = "webhook-secret-value-456"
    stream = io.StringIO()
    logger = logging.getLogger("purchases.test")
    handler = configured_handler(stream)
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"bad key {settings.OPENAI_API_KEY}")
        except RuntimeError:
            logger.exception(
                "config %s %s",
                settings.SECRET_KEY,
                settings.STRIPE_WEBHOOK_SECRET,
                extra={"stripe": "sk_live_abcdefgh123"},
            )
    finally:
        logger.removeHandler(handler)

    line = stream.getvalue()
    for secret in (
        settings.OPENAI_API_KEY,
        settings.STRIPE_WEBHOOK_SECRET,
        settings.SECRET_KEY,
        "sk_live_abcdefgh123",
    ):
        assert secret not in line
    assert "RuntimeError: bad key [redacted]" in json.loads(line)["exception"]


def test_a_webhook_url_and_the_password_in_a_service_url_never_reach_a_line(settings: Any) -> None:
    settings.ALERT_WEBHOOK_URL = "https://hooks.example.com/services/T000/B000/abcdefSECRETpath"
    settings.SPARE_REDIS_URL = "redis://:pw-very-secret-1@redis.internal:6379/0"

    line = one_line(
        "purchases.test", f"posting to {settings.ALERT_WEBHOOK_URL} via {settings.SPARE_REDIS_URL}"
    )

    assert "abcdefSECRETpath" not in line
    assert "pw-very-secret-1" not in line
    assert "redis.internal:6379" in line


def test_text_lines_are_scrubbed_too() -> None:
    line = one_line("django.server", '"GET /orders/1/?token=tok-123 HTTP/1.1" 302 0', log_format="text")

    assert "tok-123" not in line
    assert f"?token={REDACTED}" in line


def test_filters_are_on_the_handler_so_every_logger_gets_them() -> None:
    handler = configured_handler(io.StringIO())

    assert {type(f) for f in handler.filters} == {ContextFilter, RedactFilter}
    assert isinstance(configured_handler(io.StringIO(), log_format="text").formatter, TextFormatter)


def test_gunicorn_writes_no_access_log_with_query_strings() -> None:
    """The app's ``request`` line (path without the query, with the request id) is the access log."""
    dockerfile = (BASE_DIR / "docker" / "Dockerfile").read_text()
    (command,) = [line for line in dockerfile.splitlines() if line.startswith("CMD") and "gunicorn" in line]

    assert "--access-logfile" not in command or ("%(U)s" in command and "%(r)s" not in command)


# --- The real flow ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_whole_flow_logs_json_with_its_context_and_no_secret(
    api: Any,
    article: Any,
    fake_stripe: Any,
    fake_openai: Any,
    fake_mail: Any,
    run_worker: Any,
    mailoutbox: Any,
    json_logs: Captured,
) -> None:
    fake_openai.script(GOOD)
    checkout = api.post(
        "/api/v1/purchase/checkout",
        {
            "articleId": article.pk,
            "targetUrl": "https://shop.example-store.com/pillows",
            "anchorText": "memory foam pillows",
            "customerEmail": "buyer@example.com",
        },
        format="json",
        HTTP_X_REQUEST_ID="req-checkout-1",
    )
    assert checkout.status_code == 201
    assert checkout["X-Request-ID"] == "req-checkout-1"
    order_id, token = checkout.json()["orderId"], checkout.json()["orderToken"]
    session_id = Order.objects.get(pk=order_id).stripe_checkout_session_id
    fake_stripe.mark_paid(session_id, payment_intent="pi_real")
    payload = fake_stripe.checkout_session_event(session_id)
    webhook = api.post(
        "/api/v1/purchase/webhook",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_stripe_payload(payload, settings.STRIPE_WEBHOOK_SECRET),
        HTTP_X_REQUEST_ID="req-webhook-1",
    )
    assert webhook.status_code == 200
    requests_end = json_logs.mark()

    run_worker()
    worker_end = json_logs.mark()

    (email,) = mailoutbox
    page = api.get(f"/orders/{order_id}/?token={token}", HTTP_X_REQUEST_ID="req-page-1")
    assert page.status_code == 302
    missing = api.get(
        f"/orders/00000000-0000-0000-0000-000000000000/?token={token}", HTTP_X_REQUEST_ID="req-missing-1"
    )
    assert missing.status_code == 404
    django_rq.get_queue("maintenance").enqueue("purchases.jobs.reconcile_orders_job", job_id="reconcile-1")
    run_worker()

    lines = json_logs.lines()  # every line is one JSON object
    request_lines = json_logs.lines(0, requests_end)
    worker_lines = [
        line for line in json_logs.lines(requests_end, worker_end) if not line["logger"].startswith("rq.")
    ]

    # Every line of a request carries its id; the request line has the path and the status.
    assert request_lines and all(line.get("request_id") for line in request_lines)
    checkout_lines = [line for line in request_lines if line["request_id"] == "req-checkout-1"]
    assert {"checkout opened", "request"} <= {line["message"] for line in checkout_lines}
    (checkout_request,) = [line for line in checkout_lines if line["logger"] == "blogorder.request"]
    assert (checkout_request["method"], checkout_request["path"], checkout_request["status"]) == (
        "POST",
        "/api/v1/purchase/checkout",
        201,
    )
    webhook_messages = {line["message"] for line in request_lines if line["request_id"] == "req-webhook-1"}
    assert {"job enqueued", "stripe event handled", "request"} <= webhook_messages

    # Every line the jobs log carries the job id; the order job's its order, run and the webhook's request id.
    assert worker_lines and all(line.get("job_id") for line in worker_lines), worker_lines
    job_id = f"backlink-{order_id}-run-1"
    order_job_lines = [line for line in worker_lines if line["job_id"] == job_id]
    assert {"integration attempt", "openai completion", "email sent"} <= {
        line["message"] for line in order_job_lines
    }
    for line in order_job_lines:
        assert (line["order_id"], line["run"], line["request_id"]) == (order_id, 1, "req-webhook-1"), line
    (attempt,) = [line for line in order_job_lines if line["message"] == "integration attempt"]
    assert attempt["prompt_tokens"] > 0
    assert attempt["ok"] is True
    receipt_lines = [line for line in worker_lines if line["job_id"] == f"receipt-{order_id}"]
    assert receipt_lines
    assert all(line["request_id"] == "req-webhook-1" for line in receipt_lines)

    # The 404 for an order page with ?token= logs the path only, under its request id.
    (not_found,) = [line for line in lines if line["logger"] == "django.request"]
    assert not_found["request_id"] == "req-missing-1"
    assert not_found["request"] == "GET /orders/00000000-0000-0000-0000-000000000000/"
    page_lines = [line for line in lines if line.get("request_id") == "req-page-1"]
    assert [line["path"] for line in page_lines if line["message"] == "request"] == [f"/orders/{order_id}/"]

    (summary,) = [line for line in lines if line["message"] == "reconcile finished"]
    assert summary["job_id"] == "reconcile-1"
    assert summary["summary"].startswith("checked ")
    assert (summary["checked"], summary["requeued"], summary["emails_sent"]) == (0, 0, 0)

    everything = json_logs.text()
    body_sentences = [s.strip() for s in email.body.splitlines() if len(s.strip()) > 25]
    assert body_sentences
    for secret in (
        token,
        settings.STRIPE_WEBHOOK_SECRET,
        settings.STRIPE_SECRET_KEY,
        settings.OPENAI_API_KEY,
        settings.SECRET_KEY,
        *body_sentences,
    ):
        assert secret not in everything, secret
