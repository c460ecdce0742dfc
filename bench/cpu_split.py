"""Where a web request's CPU goes on the production stack: gunicorn, PostgreSQL, Redis and the client.

    .venv/bin/python -m bench.cpu_split [--requests 3000] [--web-workers 1] \
        [--database-url postgres://…/<name with bench>] [--redis-port 6495 --web-port 8495 --model-port 8496]

It starts the stack as ``make bench`` does (``bench.stack``: a private ``redis-server``, a dedicated
PostgreSQL database dropped, migrated and seeded, gunicorn on ``blogorder.settings.bench``), places
orders, and sends ``/healthz``, status polls (half of them on paid orders) and signed webhooks for
distinct orders through the load client, one kind after the other, one at a time and then
concurrently. For each it reads the CPU time (user + system, ``/proc/<pid>/stat``) that gunicorn's
processes, the database's server processes (``pg_stat_activity``) and Redis (``INFO cpu``) used,
and the load client's (its process, Python's start-up included), and prints it per request beside
the request rate. CPU time, unlike a rate, hardly moves with what else the machine runs, so two
builds can be compared on a shared machine. Prints figures; asserts nothing, never fails on time.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench.production import Bench, Sizes
from bench.stack import ROOT, Stack, descendants

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="per kind (webhooks: a fifth of it)")
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or "postgres://127.0.0.1:5432/cpu_split_bench",
    )
    parser.add_argument("--redis-port", type=int, default=6495)
    parser.add_argument("--web-port", type=int, default=8495)
    parser.add_argument("--model-port", type=int, default=8496)
    args = parser.parse_args()
    n = args.requests
    stack = Stack(
        database_url=args.database_url,
        redis_port=args.redis_port,
        web_port=args.web_port,
        model_port=args.model_port,
        web_command=f"{{python}} -m gunicorn blogorder.wsgi:application --workers {args.web_workers} "
        "--bind 127.0.0.1:{port}",
        worker_command="",
        log_dir=ROOT / "var" / "bench" / f"cpu-split-{time.strftime('%Y%m%dT%H%M%S')}",
    )
    hooks = max(100, n // 5)
    polled_count = max(100, n // 10)
    stack.start(articles=(hooks + polled_count + 20) // 25 + 5, slots=25)
    try:
        bench = Bench(stack, Sizes.scaled(0.1), [])
        bench.setup_django()
        warm = bench.create_orders(20)
        bench.load(bench.webhook_requests(warm) + [bench.status_request(o) for o in warm], 1)
        paid = bench.create_orders(polled_count // 2)
        bench.load(bench.webhook_requests(paid), 4)
        polled = paid + bench.create_orders(polled_count - len(paid))
        fresh = bench.create_orders(hooks)
        admin_url = stack.database_url.rsplit("/", 1)[0] + "/postgres"
        name = stack.database_url.rsplit("/", 1)[1]
        redis_client = redis.Redis(port=stack.redis_port)

        def database_pids() -> list[int]:
            with psycopg.connect(admin_url) as conn:
                rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
            return [int(row[0]) for row in rows]

        def redis_cpu() -> float:
            info: dict[str, Any] = redis_client.info("cpu")
            return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

        def measure(kind: str, requests: list[dict[str, Any]], concurrency: int) -> None:
            web = descendants(stack.processes["web"].pid)
            database = database_pids()
            web0, db0, redis0 = cpu_seconds(web), cpu_seconds(database), redis_cpu()
            client0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            answer = bench.load(requests, concurrency)
            client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            database = sorted(set(database) | set(database_pids()))
            count = len(requests)
            client = client1.ru_utime + client1.ru_stime - client0.ru_utime - client0.ru_stime

            def each(seconds: float) -> str:
                return f"{seconds * 1000 / count:6.2f}"

            print(
                f"{kind:8} {concurrency:3} at a time {answer['per_second']:6.0f}/s ({answer['ok']}/{count} 2xx) | "
                f"CPU ms a request: gunicorn {each(cpu_seconds(web) - web0)}  PostgreSQL "
                f"{each(cpu_seconds(database) - db0)}  Redis {each(redis_cpu() - redis0)}  client {each(client)}",
                flush=True,
            )

        print(f"cpu_split: {args.web_workers} gunicorn worker(s); logs in {stack.log_dir}")
        status = [bench.status_request(polled[i % len(polled)]) for i in range(n)]
        measure("healthz", [{"path": "/healthz"}] * n, 1)
        measure("status", status, 1)
        measure("webhook", bench.webhook_requests(fresh[: hooks // 2]), 1)
        measure("healthz", [{"path": "/healthz"}] * n, 32)
        measure("status", status, 64)
        measure("webhook", bench.webhook_requests(fresh[hooks // 2 :]), 32)
    finally:
        stack.stop()


if __name__ == "__main__":
    Path(ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    main()
