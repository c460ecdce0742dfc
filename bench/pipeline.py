"""Benchmark of the order pipeline on the real stack; prints figures, asserts nothing.

    make bench            (or: DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/pipeline.py [N])

Creates a throwaway test database (Django's test-database machinery, so nothing real is
touched) and uses the Redis database in REDIS_URL (default db 12, flushed). It measures:
quality checks per second (pure), webhook latency (signed Stripe event through the Django
stack), worker throughput with the offline writer (the LLM is not part of the figure), peak
Python memory while the worker runs, and status-endpoint latency.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blogorder.settings.test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")

import warnings  # noqa: E402

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")

django.setup()

import django_rq  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402
from rq import SimpleWorker  # noqa: E402

from articles import offline_writer  # noqa: E402
from articles.drafting.backlink import BacklinkBrief, evaluate_reply  # noqa: E402
from articles.services import article_create  # noqa: E402
from purchases.models import Order, OrderStatus  # noqa: E402
from purchases.services.checkout import order_checkout_create  # noqa: E402
from purchases.test_mode import checkout_completed_event, sign_payload  # noqa: E402

BODY = "\n\n".join(
    ["# A Long Guide to Better Sleep"]
    + [
        f"Paragraph {i} explains one more habit that helps people sleep better, with enough words to look "
        "like a real paragraph of a real article on a real blog."
        for i in range(40)
    ]
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(n: int) -> None:
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    redis = django_rq.get_connection("backlink-integration")
    redis.flushdb()
    try:
        print(
            f"database: {connection.vendor}; redis: {settings.RQ_QUEUES['backlink-integration']['URL']}; orders: {n}"
        )
        brief = BacklinkBrief(
            title="t",
            base_body=BODY,
            anchor_text="memory foam pillows",
            target_url="https://shop.example.com/p",
            customer_notes="",
            rel="sponsored",
        )
        content = offline_writer.write(brief).content
        start = time.perf_counter()
        for _ in range(200):
            assert evaluate_reply(brief, content).ok
        qc = (time.perf_counter() - start) / 200
        print(f"quality checks (40-paragraph article): {qc * 1000:.2f} ms per evaluation, {1 / qc:.0f}/s")

        article = article_create(title="Bench", slug="bench", body_markdown=BODY, max_backlinks=n + 1)
        client = Client()
        orders = [
            order_checkout_create(
                article_id=article.pk,
                target_url=f"https://shop{i}.example-store.com/p",
                anchor_text="memory foam pillows",
                customer_email=f"b{i}@example.com",
            )[0]
            for i in range(n)
        ]
        webhook_ms = []
        for order in orders:
            payload = json.dumps(checkout_completed_event(order=order)).encode()
            header = sign_payload(payload, secret=settings.STRIPE_WEBHOOK_SECRET)
            t0 = time.perf_counter()
            response = client.post(
                "/api/v1/purchase/webhook",
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            webhook_ms.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        print(
            f"webhook (verify, record, lock, enqueue): p50 {statistics.median(webhook_ms):.1f} ms, "
            f"p95 {pct(webhook_ms, 0.95):.1f} ms"
        )

        queue = django_rq.get_queue("backlink-integration")
        tracemalloc.start()
        t0 = time.perf_counter()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        took = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        done = Order.objects.filter(status=OrderStatus.QUALITY_CHECK).count()
        print(
            f"worker, offline writer: {done}/{n} orders to QUALITY_CHECK in {took:.2f} s "
            f"= {done / took:.1f} orders/s ({took / max(done, 1) * 1000:.0f} ms each); "
            f"peak traced Python memory {peak / 1e6:.1f} MB"
        )

        from purchases.tokens import make_order_token

        status_ms = []
        for order in orders:
            token = make_order_token(order_id=order.id, token_salt=order.token_salt)
            t0 = time.perf_counter()
            response = client.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {token}")
            status_ms.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        print(
            f"status endpoint (DB + Redis job lookup): p50 {statistics.median(status_ms):.1f} ms, "
            f"p95 {pct(status_ms, 0.95):.1f} ms"
        )
    finally:
        redis.flushdb()
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
