"""Quick web benchmark on a production-like server; prints figures, asserts nothing.

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6436/15 \
        .venv/bin/python bench/web.py [--orders 600] [--concurrency 32] [--workers 2 --threads 4]

Not ``make bench`` (the full harness): a loop to measure the web side while changing it. It uses the
database and Redis database it is given AS THEY ARE (it adds articles and orders; point it at a
throwaway database), migrates, then starts ``gunicorn blogorder.wsgi:application`` with production
settings (TEST MODE payments allowed, HTTPS redirect and rate limits off, logs to a file) and a
threaded load client at ``--concurrency`` that measures, each beside ``/healthz`` on the same server:

- webhook: signed ``checkout.session.completed`` events for distinct unpaid orders;
- status: ``GET /api/v1/purchase/status/<id>`` with the order's token over orders in mixed states;
- memory: the gunicorn workers' RSS after a warm-up and after ``--mixed`` mixed requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENV = {
    "DJANGO_SETTINGS_MODULE": "blogorder.settings.production",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
    "ALLOW_LOCAL_TEST_PAYMENTS": "1",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "RATE_LIMIT_LOOKUP": "off",
    "OPEN_CHECKOUTS_PER_EMAIL": "off",
    "OPEN_CHECKOUTS_PER_CLIENT": "off",
    "UNPAID_HOLDS_PER_ARTICLE": "off",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
}
os.environ.update({k: v for k, v in ENV.items() if k not in os.environ or k == "DJANGO_SETTINGS_MODULE"})

Request = tuple[str, str, bytes | None, dict[str, str]]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def load(port: int, requests: list[Request], concurrency: int) -> dict[str, float]:
    """Send ``requests`` with ``concurrency`` threads (a new connection each); req/s, p50, p99 (ms)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    index = [0]

    def worker() -> None:
        while True:
            with lock:
                if index[0] >= len(requests):
                    return
                method, path, body, headers = requests[index[0]]
                index[0] += 1
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(method, path, body=body, headers={**headers, "Connection": "close"})
                response = conn.getresponse()
                response.read()
                ok = response.status < 400
            except OSError:
                ok = False
            finally:
                conn.close()
            took = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(took)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {
        "rps": len(requests) / elapsed,
        "p50": pct(latencies, 0.50),
        "p99": pct(latencies, 0.99),
        "errors": errors[0],
    }


def worker_rss_kb(master: int) -> list[int]:
    """RSS (kB) of each gunicorn worker (the master's children)."""
    out = []
    for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out.append(int(line.split()[1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=600, help="unpaid orders for the webhook run")
    parser.add_argument("--status-orders", type=int, default=200)
    parser.add_argument("--status-requests", type=int, default=3000)
    parser.add_argument("--healthz-requests", type=int, default=3000)
    parser.add_argument("--mixed", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8736)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from articles.services import article_create
    from purchases.services.checkout import order_checkout_create
    from purchases.test_mode import checkout_completed_event, sign_payload

    stamp = str(int(time.time()))
    body = "\n\n".join(
        ["# A Long Guide to Better Sleep"]
        + [f"Paragraph {i} explains one more habit that helps people sleep better." for i in range(30)]
    )
    articles = [
        article_create(
            title=f"Bench article {stamp} {i}",
            slug=f"bench-{stamp}-{i}",
            body_markdown=body,
            backlink_price=10,
            max_backlinks=100,
        )
        # About 20 orders an article, as a catalogue has: the payment counts the article's slots.
        for i in range(max(1, (args.orders + args.status_orders + 500) // 20))
    ]

    def new_order(n: int) -> tuple[Any, str]:
        return order_checkout_create(
            article_id=articles[n % len(articles)].pk,
            target_url=f"https://shop{n}.example.com/p",
            anchor_text="memory foam pillows",
            customer_email=f"bench{stamp}-{n}@example.com",
            customer_notes="",
        )

    print(f"creating {args.orders + args.status_orders} orders ...", flush=True)
    webhook_orders = [new_order(n) for n in range(args.orders)]
    status_orders = [new_order(args.orders + n) for n in range(args.status_orders)]
    secret = settings.STRIPE_WEBHOOK_SECRET

    def webhook_request(order: Any) -> Request:
        payload = json.dumps(checkout_completed_event(order=order)).encode()
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": sign_payload(payload, secret=secret),
        }
        return ("POST", "/api/v1/purchase/webhook", payload, headers)

    def status_request(item: tuple[Any, str]) -> Request:
        order, token = item
        return ("GET", f"/api/v1/purchase/status/{order.id}", None, {"Authorization": f"Bearer {token}"})

    healthz: Request = ("GET", "/healthz", None, {})
    log = open(ROOT / "var" / "bench-web-gunicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "blogorder.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env=os.environ.copy(),
    )
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer; see var/bench-web-gunicorn.log")
        figures: dict[str, Any] = {"workers": args.workers, "threads": args.threads, "c": args.concurrency}

        def run(reqs: list[Request]) -> dict[str, float]:
            return load(args.port, reqs, args.concurrency)

        run([healthz] * 500 + [status_request(random.choice(status_orders)) for _ in range(300)])  # warm-up
        # Half the status orders paid (PROCESSING with a job queued), half still unpaid.
        run([webhook_request(o) for o, _ in status_orders[: args.status_orders // 2]])
        figures["rss_after_warmup_kb"] = worker_rss_kb(server.pid)
        figures["healthz"] = run([healthz] * args.healthz_requests)
        figures["webhook"] = run([webhook_request(o) for o, _ in webhook_orders])
        figures["status"] = run(
            [status_request(random.choice(status_orders)) for _ in range(args.status_requests)]
        )
        figures["healthz_again"] = run([healthz] * args.healthz_requests)
        before = worker_rss_kb(server.pid)
        mixed = [
            random.choice([healthz, status_request(random.choice(status_orders))]) for _ in range(args.mixed)
        ]
        # Webhooks in the mix: each order once (paid), then duplicates of the same events.
        extra = [webhook_request(new_order(10**6 + n)[0]) for n in range(min(500, args.mixed // 20))]
        mixed[:: max(1, len(mixed) // max(1, len(extra)))] = extra[
            : len(mixed[:: max(1, len(mixed) // max(1, len(extra)))])
        ]
        figures["mixed"] = run(mixed)
        after = worker_rss_kb(server.pid)
        figures["rss_before_mixed_kb"], figures["rss_after_mixed_kb"] = before, after
        ref = max(figures["healthz"]["rps"], figures["healthz_again"]["rps"])
        print(
            f"\nweb benchmark (bench/web.py): gunicorn {args.workers}x{args.threads} gthread, {args.concurrency} concurrent"
        )
        for name in ("healthz", "webhook", "status", "healthz_again", "mixed"):
            f = figures[name]
            print(
                f"{name:14} {f['rps']:8.1f} req/s  {f['rps'] / ref:5.2f}x healthz  p50 {f['p50']:6.1f} ms  "
                f"p99 {f['p99']:6.1f} ms  errors {f['errors']}"
            )
        growth = (sum(after) - sum(before)) / sum(before) * 100
        print(
            f"worker RSS kB: after warm-up {figures['rss_after_warmup_kb']}, before {args.mixed} mixed {before}, after {after} ({growth:+.1f}%)"
        )
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
