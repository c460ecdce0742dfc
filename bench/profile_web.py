"""What one web request costs, per kind, through the WSGI application as a gunicorn worker calls it.

    DATABASE_URL=postgres://.../<throwaway> REDIS_URL=redis://127.0.0.1:<port>/14 \
        .venv/bin/python -m bench.profile_web [--requests 300] [--top 20] [--kinds healthz,webhook,status]

One process, no server: each request is a WSGI ``environ`` handed to ``blogorder.wsgi.application``
under ``blogorder.settings.bench`` (production settings, local test payments, plain HTTP), one after
the other, so the figures are CPU and round trips, not the machine's load. For each kind:

- CPU ms per request (``time.process_time``: this process only, so PostgreSQL's and Redis's own
  work is not in it) and wall ms per request;
- SQL statements per request (``connection.execute_wrapper``, as ``X-Bench-Queries`` counts them)
  and Redis commands per request (the server's ``INFO commandstats``, reset before each kind: use
  a Redis no one else is using while it runs);
- then the same requests again under cProfile: the top functions by own time and by cumulative time.

Kinds: ``healthz`` (the reference), ``webhook`` (signed ``checkout.session.completed`` for distinct
unpaid orders), ``status`` (``GET /api/v1/purchase/status/<id>`` over orders half paid and half
unpaid, with a cold cache for the first reads of each). It adds articles and orders to the database
it is given (point it at a throwaway one) and migrates it. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENV = {
    "DJANGO_SETTINGS_MODULE": "blogorder.settings.bench",
    "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SITE_URL": "http://127.0.0.1:8000",
    "RATE_LIMIT_LOOKUP": "1000000/min",
    "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    "LOG_LEVEL": "WARNING",
}
for _key, _value in ENV.items():
    os.environ.setdefault(_key, _value)
os.environ["DJANGO_SETTINGS_MODULE"] = ENV["DJANGO_SETTINGS_MODULE"]

Request = tuple[str, str, bytes, dict[str, str]]


def call(application: Callable[..., Any], request: Request) -> tuple[int, dict[str, str]]:
    """One request through the WSGI application; (status, response headers)."""
    method, path, body, headers = request
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    result = application(environ, start_response)
    try:
        for _chunk in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()  # request_finished: what gunicorn triggers after each response
    return answer["status"], answer["headers"]


def redis_commands(client: Any) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def measure(
    application: Callable[..., Any],
    requests: list[Request],
    redis_client: Any,
    *,
    top: int,
    dump: Path | None = None,
) -> dict[str, Any]:
    from django.db import connection

    half = len(requests) // 2
    plain, profiled = requests[:half], requests[half:]
    statements = 0
    first_request: list[str] = []  # the statements of the first measured request, in order

    def counted(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        if len(first_request) < statements and not seen_first:
            first_request.append(" ".join(sql.split())[:240])
        return execute(sql, params, many, context)

    redis_client.config_resetstat()
    statuses: dict[int, int] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    seen_first = False
    with connection.execute_wrapper(counted):
        for request in plain:
            status, _ = call(application, request)
            seen_first = True
            statuses[status] = statuses.get(status, 0) + 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    commands = redis_commands(redis_client)
    commands.pop("config|resetstat", None)
    commands.pop("config", None)
    profile = cProfile.Profile()
    profile.enable()
    for request in profiled:
        call(application, request)
    profile.disable()
    if dump is not None:
        profile.dump_stats(dump)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top * 2)
    n = len(plain)
    return {
        "requests": n,
        "statuses": statuses,
        "cpu_ms": cpu * 1000 / n,
        "wall_ms": wall * 1000 / n,
        "sql_per_request": statements / n,
        "redis_per_request": sum(commands.values()) / n,
        "redis_commands": {k: round(v / n, 2) for k, v in sorted(commands.items())},
        "profile": out.getvalue(),
        "first_request_sql": first_request,
    }


def webhook_request(order: Any) -> Request:
    """A signed ``checkout.session.completed`` for the order, as Stripe would send it (Django set up)."""
    from django.conf import settings

    from purchases.test_mode import checkout_completed_event, sign_payload

    payload = json.dumps(checkout_completed_event(order=order)).encode()
    signature = sign_payload(payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    return (
        "POST",
        "/api/v1/purchase/webhook",
        payload,
        {"Content-Type": "application/json", "Stripe-Signature": signature},
    )


def status_request(item: tuple[Any, str]) -> Request:
    """The customer's status poll of ``(order, token)``."""
    order, token = item
    return ("GET", f"/api/v1/purchase/status/{order.id}", b"", {"Authorization": f"Bearer {token}"})


def unpaid_order(article_id: int, i: int, *, email_prefix: str) -> tuple[Any, str]:
    """A backlink order ``i`` in checkout on the article: ``(order, token)`` (Django set up)."""
    from purchases.services.checkout import order_checkout_create

    return order_checkout_create(
        article_id=article_id,
        target_url=f"https://shop{i}.example.com/p",
        anchor_text="memory foam pillows",
        customer_email=f"{email_prefix}-{i}@example.com",
        customer_notes="",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="per kind: half measured, half profiled")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--kinds", default="healthz,webhook,status")
    parser.add_argument("--json", type=Path, help="also write the figures (without the profiles) here")
    parser.add_argument("--quiet", action="store_true", help="figures only, no profiles")
    parser.add_argument("--dump", type=Path, help="write each kind's profile as <dump>.<kind>.pstats")
    args = parser.parse_args()

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from articles.services import article_create
    from blogorder.wsgi import application

    redis_client = redis.Redis.from_url(settings.REDIS_URL)
    stamp = str(time.time_ns())
    body = "\n\n".join(
        ["# A Long Guide to Better Sleep"]
        + [f"Paragraph {i} explains one more habit that helps people sleep better." for i in range(30)]
    )
    n = args.requests
    articles = [
        article_create(
            title=f"Profile article {stamp} {i}",
            slug=f"profile-{stamp}-{i}",
            body_markdown=body,
            backlink_price=10,
            max_backlinks=100,
        )
        for i in range(max(1, (2 * n + 200) // 20))
    ]

    def new_order(i: int) -> tuple[Any, str]:
        return unpaid_order(articles[i % len(articles)].pk, i, email_prefix=f"profile{stamp}")

    webhook, status = webhook_request, status_request

    healthz: Request = ("GET", "/healthz", b"", {})
    polled = [new_order(n + i) for i in range(100)]
    warm = [new_order(2 * n + 100 + i) for i in range(10)]
    for request in [healthz, *(webhook(o) for o, _ in warm[:5]), *(status(s) for s in warm)]:
        call(application, request)  # imports, connections, the first of everything
    for order, _ in polled[:50]:
        call(application, webhook(order))  # half the polled orders paid (PROCESSING, job queued)
    webhook_orders = [new_order(i)[0] for i in range(n)] if "webhook" in args.kinds else []
    # The status reads start with the wait estimate's cache cold, as after a deploy.
    cache.delete_many([f"queueing:recent-job-seconds:{queue}" for queue in settings.RQ_QUEUES])
    kinds = {
        "healthz": [healthz] * n,
        "webhook": [webhook(o) for o in webhook_orders],
        "status": [status(polled[i % len(polled)]) for i in range(n)],
    }
    figures: dict[str, Any] = {}
    for kind in args.kinds.split(","):
        dump = args.dump.with_name(f"{args.dump.name}.{kind}.pstats") if args.dump else None
        figures[kind] = measure(application, kinds[kind], redis_client, top=args.top, dump=dump)
    print(f"\nper request, {n // 2} measured + {n - n // 2} profiled of each kind, one process, no server:")
    for kind, f in figures.items():
        print(
            f"{kind:8} CPU {f['cpu_ms']:6.2f} ms  wall {f['wall_ms']:6.2f} ms  SQL {f['sql_per_request']:5.2f}  "
            f"Redis {f['redis_per_request']:5.2f} {f['redis_commands']}  statuses {f['statuses']}"
        )
    for kind, f in figures.items():
        print(f"\n{kind}: the statements of its first measured request")
        for number, sql in enumerate(f["first_request_sql"], 1):
            print(f"  {number:2}. {sql}")
    if not args.quiet:
        for kind, f in figures.items():
            print(f"\n===== {kind} =====\n{f['profile']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {k: {x: y for x, y in v.items() if x != "profile"} for k, v in figures.items()}, indent=2
            )
        )


if __name__ == "__main__":
    main()
