"""Where an order job's time goes: CPU ms, SQL statements and Redis commands per job, and a cProfile.

    DATABASE_URL=postgres://.../<db> REDIS_URL=redis://127.0.0.1:<port>/0 \
        .venv/bin/python -m bench.profile_jobs [--orders 100] [--top 40] [--sort cumulative] [--sql] [--no-profile | --cpu-clock] [--dump PREFIX]

Production settings (``blogorder.settings.bench``) on the database and Redis it is given (use
private ones: it migrates the database, creates its own article and orders, and resets Redis's
command statistics). The fake model (``bench.fake_model``, zero delay) answers over HTTP as in
``make bench``. Orders are paid with signed webhooks through Django's test client; then their
jobs run in this process on an ``rq.SimpleWorker`` (no fork: cProfile sees the job itself) under
cProfile, with every SQL statement counted (``execute_wrapper``), the transactions committed, and
Redis's ``INFO commandstats`` read before and after. The no-op reference (``bench.jobs.noop``) runs the same way.
Prints figures; asserts nothing, never fails on time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--sql", action="store_true", help="print the first SQL statements run")
    parser.add_argument(
        "--no-profile", action="store_true", help="no cProfile: the CPU and wall figures without its overhead"
    )
    parser.add_argument(
        "--cpu-clock",
        action="store_true",
        help="profile with the process's CPU clock: waits on PostgreSQL, Redis and the model drop out",
    )
    parser.add_argument("--dump", type=Path, help="write each profile as <dump>.orders.pstats / .noop.pstats")
    args = parser.parse_args()

    port = free_port()
    model = subprocess.Popen([sys.executable, "-m", "bench.fake_model", str(port)], cwd=ROOT)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "blogorder.settings.bench",
            "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "SITE_URL": "http://127.0.0.1:8000",
            "OPENAI_API_KEY": "sk-bench-fake",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
            "OPENAI_MODEL": "bench-fake",
            "LLM_MAX_CONCURRENT_CALLS": "64",
            "LLM_REQUESTS_PER_MINUTE": "off",
            "LLM_TOKENS_PER_MINUTE": "off",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
    )
    try:
        run(args)
    finally:
        model.terminate()


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from rq import SimpleWorker

    from articles.demo_content import DEMO_ARTICLES
    from articles.services import article_create
    from purchases.services.checkout import order_checkout_create
    from purchases.test_mode import checkout_completed_event, sign_payload
    from queueing.connections import rq_queue
    from queueing.worker import worker_preload

    queue = rq_queue("backlink-integration")
    redis = queue.connection
    for key in redis.scan_iter("rq:*"):
        redis.delete(key)
    demo = DEMO_ARTICLES[0]
    article = article_create(
        title=demo["title"],
        body_markdown=demo["body"],
        slug=f"prof-{time.time_ns()}",
        max_backlinks=args.orders + 1,
    )
    client = Client(HTTP_HOST="127.0.0.1")
    for i in range(args.orders):
        order, _ = order_checkout_create(
            article_id=article.pk,
            target_url=f"https://shop{i}.example-store.com/p",
            anchor_text="memory foam pillows",
            customer_email=f"p{i}-{time.time_ns()}@example.com",
        )
        payload = json.dumps(checkout_completed_event(order=order)).encode()
        header = sign_payload(payload, secret=settings.STRIPE_WEBHOOK_SECRET)
        response = client.post(
            "/api/v1/purchase/webhook", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        assert response.status_code == 200, response.content
    worker_preload()

    def drain(label: str, jobs: int, dump: Path | None) -> None:
        statements: Counter[str] = Counter()
        first: list[str] = []

        def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            statements[sql.split(None, 1)[0].upper()] += 1
            if sum(statements.values()) <= 200:
                first.append(sql[:160])
            return execute(sql, params, many, context)

        commits = 0
        commit = connection._commit  # type: ignore[attr-defined]  # Django's COMMIT, counted below

        def counted_commit() -> None:
            nonlocal commits
            commits += 1
            commit()

        worker = SimpleWorker([queue], connection=redis)
        redis.config_resetstat()
        profile = cProfile.Profile(time.process_time) if args.cpu_clock else cProfile.Profile()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        connection._commit = counted_commit  # type: ignore[attr-defined]
        try:
            with connection.execute_wrapper(counted):
                if not args.no_profile:
                    profile.enable()
                worker.work(burst=True, logging_level="WARNING")
                profile.disable()
        finally:
            del connection._commit  # type: ignore[attr-defined]
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        stats = redis.info("commandstats")
        commands = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
        commands.pop("info", None)
        commands.pop("config|resetstat", None)
        total_commands = sum(commands.values())
        print(f"\n== {label}: {jobs} jobs, SimpleWorker in this process")
        print(f"CPU {cpu * 1000 / jobs:.1f} ms/job, wall {wall * 1000 / jobs:.1f} ms/job")
        print(
            f"SQL {sum(statements.values()) / jobs:.1f} statements/job: {dict(statements.most_common())}; "
            f"{commits / jobs:.1f} commits/job (transactions; BEGIN and COMMIT are not statements here)"
        )
        top = dict(sorted(commands.items(), key=lambda kv: -kv[1])[:15])
        print(f"Redis {total_commands / jobs:.1f} commands/job (incl. worker loop): {top}")
        if dump is not None and not args.no_profile:
            profile.dump_stats(dump)
        if not args.no_profile:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
        if args.sql:
            print("\n".join(first))

    dumps = {
        kind: args.dump.with_name(f"{args.dump.name}.{kind}.pstats") if args.dump else None
        for kind in ("orders", "noop")
    }
    drain("orders", args.orders, dumps["orders"])
    for _ in range(args.orders):
        queue.enqueue("bench.jobs.noop")
    drain("no-op", args.orders, dumps["noop"])


if __name__ == "__main__":
    main()
