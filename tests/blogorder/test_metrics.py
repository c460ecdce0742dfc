"""/metrics on the real stack: the token, and the values after a real order flow (PostgreSQL, Redis, a real worker)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from purchases.models import Order, OrderStatus, OrderTransition, RunSpend
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order, make_published_article
from tests.fakes import sign_stripe_payload
from tests.purchases.test_backlink_flow import GOOD, NO_MARK

TOKEN = "metrics-test-token-0123456789"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: Client) -> tuple[Samples, set[str]]:
    """Every sample of one authorised scrape by (name, labels), and the names of the families."""
    response = client.get("/metrics", **AUTH)  # type: ignore[arg-type]
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(response.content.decode()):
        names.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, names


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def metrics_token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.mark.django_db
def test_metrics_is_not_found_while_no_token_is_configured(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_metrics_wants_the_bearer_token(client: Client, metrics_token: str) -> None:
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {metrics_token}").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}x").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_real_order_flow_shows_in_the_scrape(
    client: Client,
    api: Any,
    article: Any,
    fake_stripe: Any,
    fake_openai: Any,
    run_worker: Any,
    mailoutbox: Any,
    metrics_token: str,
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
    ).json()
    session_id = Order.objects.get(pk=checkout["orderId"]).stripe_checkout_session_id
    fake_stripe.mark_paid(session_id, payment_intent="pi_real")
    payload = fake_stripe.checkout_session_event(session_id)
    assert (
        api.post(
            "/api/v1/purchase/webhook",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign_stripe_payload(payload, "whsec_test_secret"),
        ).status_code
        == 200
    )
    queued, _ = scrape(client)
    assert value(queued, "blogorder_orders", kind="backlink", status="PROCESSING") == 1
    assert value(queued, "rq_jobs", queue="backlink-integration", status="queued") == 1
    assert value(queued, "blogorder_queue_oldest_job_age_seconds", queue="backlink-integration") >= 0
    assert value(queued, "blogorder_queue_workers_alive", queue="backlink-integration") == 0

    run_worker()

    samples, _ = scrape(client)
    assert value(samples, "blogorder_orders", kind="backlink", status="QUALITY_CHECK") == 1
    assert value(samples, "blogorder_orders", kind="backlink", status="PROCESSING") == 0
    assert value(samples, "blogorder_orders", kind="article", status="QUALITY_CHECK") == 0
    assert value(samples, "rq_jobs", queue="backlink-integration", status="queued") == 0
    assert value(samples, "blogorder_redis_up") == 1
    kind = {"queue": "backlink-integration", "purpose": "initial"}
    assert value(samples, "blogorder_jobs_finished_total", **kind) == 1
    assert value(samples, "blogorder_jobs_failed_total", **kind) == 0
    assert value(samples, "blogorder_job_attempts_total", outcome="done", **kind) == 1
    assert value(samples, "blogorder_job_duration_seconds_bucket", le="+Inf", **kind) == 1
    assert value(samples, "blogorder_job_duration_seconds_bucket", le="60", **kind) == 1
    assert value(samples, "blogorder_job_duration_seconds_gcount", **kind) == 1
    assert 0 < value(samples, "blogorder_job_duration_seconds_gsum", **kind) < 60
    assert value(samples, "blogorder_order_paid_to_draft_seconds_bucket", le="+Inf", kind="backlink") == 1
    assert value(samples, "blogorder_order_paid_to_draft_seconds_bucket", le="60", kind="backlink") == 1
    spent = RunSpend.objects.aggregate(prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
    assert spent["prompt"] > 0
    assert value(samples, "blogorder_model_tokens_total", kind="backlink", type="prompt") == spent["prompt"]
    assert (
        value(samples, "blogorder_model_tokens_total", kind="backlink", type="completion")
        == spent["completion"]
    )
    assert value(samples, "blogorder_model_cost_usd_total", kind="backlink") > 0
    assert (
        value(samples, "blogorder_webhook_events_total", type="checkout.session.completed", outcome="paid")
        == 1
    )
    assert value(samples, "blogorder_emails_sent_total", kind="backlink_integrated") == 1
    assert value(samples, "blogorder_emails_failed", kind="backlink_integrated") == 0
    assert value(samples, "blogorder_orders_processing_overdue") == 0


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_order_fails_counts_as_failed(
    client: Client, api: Any, article: Any, fake_openai: Any, run_worker: Any, metrics_token: str
) -> None:
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK)  # three failed quality checks fail the order
    order, _ = make_order(article)
    assert signed_post(api, checkout_event(order)).status_code == 200

    run_worker()

    samples, _ = scrape(client)
    kind = {"queue": "backlink-integration", "purpose": "initial"}
    assert Order.objects.get(pk=order.pk).status in (OrderStatus.FAILED, OrderStatus.REFUNDED)
    assert value(samples, "blogorder_jobs_failed_total", **kind) == 1
    assert value(samples, "blogorder_jobs_finished_total", **kind) == 0
    assert value(samples, "blogorder_job_attempts_total", outcome="failed", **kind) == 1
    assert value(samples, "blogorder_emails_sent_total", kind="order_failed") == 1


@pytest.mark.django_db
def test_an_order_processing_past_its_deadline_is_counted_overdue(
    client: Client, api: Any, article: Any, metrics_token: str, settings: Any
) -> None:
    settings.ORDER_PROCESSING_DEADLINE_SECONDS = 1800
    late, _ = make_order(article)
    assert signed_post(api, checkout_event(late, event_id="evt_late")).status_code == 200
    fresh, _ = make_order(article)
    assert signed_post(api, checkout_event(fresh, event_id="evt_fresh")).status_code == 200
    assert Order.objects.filter(status=OrderStatus.PROCESSING).count() == 2
    long_ago = timezone.now() - timedelta(seconds=1801)
    OrderTransition.objects.filter(order=late, to_status=OrderStatus.PROCESSING).update(created_at=long_ago)
    Order.objects.filter(pk=late.pk).update(paid_at=long_ago)

    samples, _ = scrape(client)

    assert value(samples, "blogorder_orders_processing_overdue") == 1
    assert value(samples, "blogorder_orders", kind="backlink", status="PROCESSING") == 2


@pytest.mark.django_db
def test_an_order_waiting_for_approval_past_its_deadline_is_counted_overdue(
    client: Client, api: Any, metrics_token: str, settings: Any
) -> None:
    settings.ORDER_APPROVAL_DEADLINE_SECONDS = 3600
    article = make_published_article(needs_approval=True)
    late, _ = make_order(article)
    assert signed_post(api, checkout_event(late, event_id="evt_late")).status_code == 200
    fresh, _ = make_order(article)
    assert signed_post(api, checkout_event(fresh, event_id="evt_fresh")).status_code == 200
    long_ago = timezone.now() - timedelta(seconds=3601)
    OrderTransition.objects.filter(order=late, to_status=OrderStatus.AWAITING_APPROVAL).update(
        created_at=long_ago
    )

    samples, _ = scrape(client)

    assert value(samples, "blogorder_orders_approval_overdue") == 1
    assert value(samples, "blogorder_orders_processing_overdue") == 0
    assert value(samples, "blogorder_orders", kind="backlink", status="AWAITING_APPROVAL") == 2


@pytest.mark.django_db
def test_a_scrape_while_redis_is_down_says_so_and_still_counts_orders(
    client: Client, article: Any, metrics_token: str, settings: Any
) -> None:
    make_order(article)
    settings.RQ_QUEUES = {
        name: {**config, "URL": "redis://:hunter2secret@127.0.0.1:1/15"}
        for name, config in settings.RQ_QUEUES.items()
    }

    samples, names = scrape(client)

    assert value(samples, "blogorder_redis_up") == 0
    assert value(samples, "blogorder_orders", kind="backlink", status="PENDING_PAYMENT") == 1
    assert "rq_jobs" not in names and "blogorder_queue_workers_alive" not in names


@pytest.mark.django_db
def test_the_oldest_job_threshold_setting_is_exported_for_the_alert_rule(
    client: Client, metrics_token: str, settings: Any
) -> None:
    settings.QUEUE_OLDEST_JOB_ALERT_SECONDS = 42
    # Straight onto RQ: django-rq's queue would hold the job until this test's transaction commits.
    Queue("maintenance", connection=django_rq.get_connection("maintenance")).enqueue(
        "builtins.print", "waiting"
    )

    samples, _ = scrape(client)

    assert value(samples, "blogorder_queue_oldest_job_alert_threshold_seconds") == 42
    assert value(samples, "rq_jobs", queue="maintenance", status="queued") == 1
    assert value(samples, "blogorder_queue_oldest_job_age_seconds", queue="maintenance") < 42
