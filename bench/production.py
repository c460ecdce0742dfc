"""``make bench``: the order pipeline measured on the production stack, each figure beside its reference.

    make bench                      # the full run (20-40 minutes on 2 cores, mostly the bursts)
    BENCH_SCALE=0.1 make bench      # the same figures on a tenth of the sizes (3-4 minutes)
    .venv/bin/python -m bench.production --help

It starts, on this machine: a private ``redis-server``; a dedicated PostgreSQL database (dropped,
created, migrated and seeded with ``seed_demo --articles N --slots M``); gunicorn with 4 workers on
``blogorder.settings.bench`` (production plus local test-mode payments, plain HTTP and a query
counter); the worker set-up (``--worker``: ``threads``, one ``manage.py rqworker_pool --threads N``
process for N jobs in flight, by default; ``threads-per-cpu``, one such process per CPU sharing
them; ``forked``, N ``manage.py rqworker`` processes, each forking a work horse per job; the
table's heading names the one used); and the fake model (``bench/fake_model.py``). The load client runs in its own process
(``bench/loadclient.py``). It prints one table and writes the same figures as JSON under
``bench/results/``. It never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from bench.stack import PYTHON, ROOT, Stack, memory_kb

# As production runs them (docker/compose.yaml, README "Worker set-ups"): the model queues on the
# worker set-up measured, ``maintenance`` (receipts, digests, the reconciler) on its own forked worker.
QUEUES = "backlink-integration article-generation"
MAINTENANCE = "{python} manage.py rqworker maintenance --with-scheduler --worker-ttl 60"
# The worker set-ups (--worker): N jobs in flight as N threads of one `rqworker_pool --threads` process
# (production's, README "Worker set-ups"), or split over one such process per CPU (threads-per-cpu:
# the GIL runs one thread of a process at a time), or as N forked `rqworker` processes (a work horse
# forked per job, as before issue 13).
WORKERS = {
    "threads": f"{{python}} manage.py rqworker_pool {QUEUES} --threads {{n}} --with-scheduler --worker-ttl 60",
    "threads-per-cpu": f"{{python}} manage.py rqworker_pool {QUEUES} --threads {{per_cpu}} --with-scheduler "
    "--worker-ttl 60",
    "forked": f"{{python}} manage.py rqworker {QUEUES} --with-scheduler --worker-ttl 60",
}
DEFAULT_WORKER = WORKERS["threads"]
DEFAULT_WEB = "{python} -m gunicorn blogorder.wsgi:application --workers 4 --bind 127.0.0.1:{port}"
QUEUE = "backlink-integration"
# The aims for the web figures: a rate as a fraction of /healthz's, and a p99 (ms). With the
# load client's closed loop (N clients, each sending again as soon as answered) the p99 is the queue
# that loop builds: mean latency = N / rate (Little's law), so at 32 and 64 clients these p99s ask for
# 533 and 2,133 requests/s. Each figure is therefore also measured offered at its aimed rate, open loop
# (requests due at that rate, at most N outstanding, latency from when each was due).
AIMS = {"webhook": (0.12, 60.0), "status": (0.25, 30.0)}


@dataclass(frozen=True)
class Sizes:
    webhook: int
    status: int
    jobs: int
    burst: int
    memory: int
    warmup: int
    token_rounds: int

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        def s(n: int, least: int) -> int:
            return max(least, round(n * scale))

        return cls(
            webhook=s(2000, 64),
            status=s(5000, 256),
            jobs=s(500, 20),
            burst=s(1000, 64),
            memory=s(10_000, 500),
            warmup=s(1000, 100),
            token_rounds=s(3, 1),
        )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bench:
    def __init__(self, stack: Stack, sizes: Sizes, in_flight: list[int]) -> None:
        self.stack = stack
        self.sizes = sizes
        self.in_flight = in_flight
        self.results: dict[str, Any] = {}
        self.rows: list[tuple[str, str, str, str]] = []
        self._slots: dict[int, int] = {}
        self.tokens_by_order: dict[Any, str] = {}

    # --- the stack's data --------------------------------------------------------------------------

    def setup_django(self) -> None:
        os.environ.update(self.stack.env())
        import django

        django.setup()
        from articles.models import Article

        self.demo_slugs = [a["slug"] for a in _demo_articles()]
        self.articles = list(
            Article.objects.exclude(slug__in=self.demo_slugs).values_list("pk", "max_backlinks")
        )
        self.demo_ids = list(Article.objects.filter(slug__in=self.demo_slugs).values_list("pk", flat=True))
        self._next = 0

    def create_orders(self, count: int, *, article_ids: list[int] | None = None) -> list[Any]:
        """``count`` backlink orders waiting for payment, spread over the seeded articles."""
        from purchases.services.checkout import order_checkout_create

        orders = []
        for _ in range(count):
            if article_ids is not None:
                article_id = article_ids[self._next % len(article_ids)]
            else:
                for _attempt in range(len(self.articles)):
                    article_id, slots = self.articles[self._next % len(self.articles)]
                    if self._slots.get(article_id, 0) < slots:
                        break
                    self._next += 1
                else:
                    raise SystemExit("the seeded articles have no free slot left: raise --slots")
            self._next += 1
            self._slots[article_id] = self._slots.get(article_id, 0) + 1
            n = sum(self._slots.values())
            order, token = order_checkout_create(
                article_id=article_id,
                target_url=f"https://shop{n}.example-store.com/p",
                anchor_text="memory foam pillows",
                customer_email=f"bench{n}@example.com",
            )
            self.tokens_by_order[order.pk] = token
            orders.append(order)
        return orders

    def webhook_requests(self, orders: list[Any]) -> list[dict[str, Any]]:
        from django.conf import settings

        from purchases.test_mode import checkout_completed_event, sign_payload

        requests = []
        for order in orders:
            payload = json.dumps(checkout_completed_event(order=order))
            header = sign_payload(payload.encode(), secret=settings.STRIPE_WEBHOOK_SECRET)
            requests.append(
                {
                    "method": "POST",
                    "path": "/api/v1/purchase/webhook",
                    "headers": {"Content-Type": "application/json", "Stripe-Signature": header},
                    "body": payload,
                }
            )
        return requests

    def status_request(self, order: Any) -> dict[str, Any]:
        return {
            "path": f"/api/v1/purchase/status/{order.pk}",
            "headers": {"Authorization": f"Bearer {self.tokens_by_order[order.pk]}"},
        }

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.stack.redis_url).flushdb()

    def vacuum(self) -> None:
        """``VACUUM ANALYZE`` after placing orders, before timing requests (as pgbench does before
        each run): autovacuum starting on the new rows mid-figure would otherwise take its CPU."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    def load(
        self, requests: list[dict[str, Any]], concurrency: int, *, rate: float | None = None
    ) -> dict[str, Any]:
        """Closed loop at ``concurrency``; or, with ``rate`` (requests/s), open loop (bench.loadclient)."""
        spec = {
            "host": "127.0.0.1",
            "port": self.stack.web_port,
            "concurrency": concurrency,
            "requests": requests,
            "rate": rate,
        }
        done = subprocess.run(
            [PYTHON, "-m", "bench.loadclient"],
            input=json.dumps(spec).encode(),
            capture_output=True,
            cwd=ROOT,
            check=True,
        )
        raw = json.loads(done.stdout)
        ok = sum(v for k, v in raw["statuses"].items() if k.startswith("2"))
        latencies = raw["latencies_ms"]
        return {
            "requests": len(requests),
            "concurrency": concurrency,
            "offered_per_second": rate,
            "ok": ok,
            "statuses": raw["statuses"],
            "seconds": raw["elapsed"],
            "per_second": ok / raw["elapsed"],
            "p50_ms": pct(latencies, 0.50),
            "p99_ms": pct(latencies, 0.99),
            "queries_mean": statistics.fmean(raw["queries"]) if raw["queries"] else None,
            "queries_max": max(raw["queries"]) if raw["queries"] else None,
        }

    def wait_quality_check(self, ids: list[Any], timeout: float) -> dict[str, Any]:
        """Polls PostgreSQL every 50 ms until every order reached QUALITY_CHECK (or failed)."""
        from django.db.models import Count

        from purchases.models import Order, OrderStatus

        first = None
        start = time.time()
        done = failed = 0
        while time.time() - start < timeout:
            counts = dict(
                Order.objects.filter(pk__in=ids, status__in=[OrderStatus.QUALITY_CHECK, OrderStatus.FAILED])
                .values_list("status")
                .annotate(n=Count("pk"))
            )
            done, failed = counts.get(OrderStatus.QUALITY_CHECK, 0), counts.get(OrderStatus.FAILED, 0)
            now = time.time()
            if done and first is None:
                first = now
            if done + failed >= len(ids):
                return {
                    "first_done_at": first,
                    "last_done_at": now,
                    "done": done,
                    "failed": failed,
                    "complete": True,
                }
            time.sleep(0.05)
        return {
            "first_done_at": first,
            "last_done_at": time.time(),
            "done": done,
            "failed": failed,
            "complete": False,
        }

    def row(self, figure: str, measured: str, reference: str, ratio: str) -> None:
        self.rows.append((figure, measured, reference, ratio))
        print(f"  {figure}: {measured} | {reference} | {ratio}", flush=True)

    # --- figures -----------------------------------------------------------------------------------

    def webhook(self) -> list[Any]:
        n = self.sizes.webhook
        orders = self.create_orders(n)
        aimed_orders = self.create_orders(n)
        self.vacuum()
        health = self.load([{"path": "/healthz"}] * n, 32)
        hooks = self.load(self.webhook_requests(orders), 32)
        self.flush_redis()  # nobody drains these jobs; the orders stay PROCESSING (a state for polling)
        self.results["webhook"] = {"webhook": hooks, "healthz": health}
        self.row(
            f"webhook, {n} signed events, 32 at a time",
            f"{hooks['per_second']:.0f}/s, p50 {hooks['p50_ms']:.0f} ms, p99 {hooks['p99_ms']:.0f} ms, "
            f"{hooks['queries_mean']:.1f} queries/event ({hooks['ok']}/{n} 2xx)",
            f"/healthz {health['per_second']:.0f}/s, p99 {health['p99_ms']:.0f} ms",
            f"{hooks['per_second'] / health['per_second']:.2f}x",
        )
        self.vacuum()
        aimed = self.at_aimed_rate("webhook", self.webhook_requests(aimed_orders), health, 32, hooks)
        self.results["webhook"]["at_aimed_rate"] = aimed
        self.flush_redis()
        return orders

    def at_aimed_rate(
        self,
        figure: str,
        requests: list[dict[str, Any]],
        health: dict[str, Any],
        clients: int,
        closed_loop: dict[str, Any],
    ) -> dict[str, Any]:
        """``requests`` offered open loop at the aim's fraction of /healthz's rate: its p99 beside the aim's.

        Also how hard that rate drives the server: the offered rate over the rate the same kind reached
        closed loop in this run (its capacity here). Near 100% every queue grows and no p99 holds.
        """
        fraction, p99_aim = AIMS[figure]
        offered = fraction * health["per_second"]
        got = self.load(requests, clients, rate=offered)  # its result carries offered_per_second
        got["load_factor"] = offered / closed_loop["per_second"]
        self.row(
            f"{figure} offered at its aimed rate, open loop ({fraction}x /healthz, at most {clients} at a time)",
            f"{offered:.0f}/s offered ({got['load_factor']:.0%} of the closed loop's {closed_loop['per_second']:.0f}/s), "
            f"{got['per_second']:.0f}/s answered, p50 {got['p50_ms']:.0f} ms, "
            f"p99 {got['p99_ms']:.0f} ms from when each was due ({got['ok']}/{len(requests)} 2xx)",
            f"aim: p99 at most {p99_aim:.0f} ms",
            "met" if got["ok"] == len(requests) and got["p99_ms"] <= p99_aim else "not met",
        )
        return got

    def drain(self, ids: list[Any], workers: int, timeout: float) -> dict[str, Any]:
        samples: list[dict[str, int]] = []
        stop = threading.Event()

        fixed: list[dict[str, int]] = []

        def sample() -> None:
            while not stop.wait(1.0):
                samples.append(memory_kb(self.stack.worker_pids()))
                fixed.append(memory_kb(self.stack.maintenance_pids()))

        launched = time.time()
        self.stack.start_workers(workers)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            waited = self.wait_quality_check(ids, timeout)
        finally:
            stop.set()
            sampler.join()
            self.stack.stop_workers()
        waited["launched_at"] = launched
        waited["memory_peak_kb"] = {
            "pss_kb": max((s["pss_kb"] for s in samples), default=0),
            "rss_kb": max((s["rss_kb"] for s in samples), default=0),
            "processes": max((s["processes"] for s in samples), default=0),
        }
        # The maintenance worker: a fixed cost per host, not per job in flight (not in the figure above).
        waited["maintenance_memory_peak_kb"] = {
            "pss_kb": max((s["pss_kb"] for s in fixed), default=0),
            "rss_kb": max((s["rss_kb"] for s in fixed), default=0),
        }
        return waited

    def job_overhead(self) -> list[Any]:
        import django_rq
        from rq.registry import FinishedJobRegistry

        n = self.sizes.jobs
        self.flush_redis()
        queue = django_rq.get_queue(QUEUE)
        for _ in range(n):
            queue.enqueue("bench.jobs.noop")
        registry = FinishedJobRegistry(queue=queue)
        self.stack.start_workers(1)
        first = None
        start = time.time()
        while time.time() - start < 600:
            count = registry.count
            if count and first is None:
                first = time.time()
            if count >= n:
                break
            time.sleep(0.05)
        last = time.time()
        self.stack.stop_workers()
        noop_rate = (n - 1) / max(last - (first or last), 1e-6)
        self.flush_redis()

        self.stack.model_reset("zero")
        orders = self.create_orders(n)
        self.load(self.webhook_requests(orders), 32)
        waited = self.drain([o.pk for o in orders], 1, timeout=max(600, n * 2))
        span = waited["last_done_at"] - (waited["first_done_at"] or waited["last_done_at"])
        rate = (waited["done"] - 1) / max(span, 1e-6)
        overhead_ms = 1000 / rate - 1000 / noop_rate
        self.flush_redis()
        self.results["job_overhead"] = {
            "orders": n,
            "orders_per_second": rate,
            "noop_jobs_per_second": noop_rate,
            "overhead_ms_per_order": overhead_ms,
            "drain": waited,
            "method": "rate = (N-1) / (last - first completion), polled every 50 ms; worker start-up excluded",
        }
        self.row(
            f"job overhead, {n} orders, zero-delay model, 1 worker",
            f"{rate:.1f} orders/s ({1000 / rate:.0f} ms an order; {waited['done']} done, {waited['failed']} failed)",
            f"no-op RQ jobs {noop_rate:.0f}/s",
            f"{rate / noop_rate:.2f}x",
        )
        self.row("job overhead per order", f"{overhead_ms:.0f} ms", "beyond a no-op job", "")
        return orders

    def status(self, states: list[Any]) -> None:
        n = self.sizes.status
        requests = [self.status_request(states[i % len(states)]) for i in range(n)]
        self.vacuum()
        health = self.load([{"path": "/healthz"}] * n, 64)
        polled = self.load(requests, 64)
        self.results["status"] = {"status": polled, "healthz": health}
        self.row(
            f"status polling, {n} requests, 64 clients, mixed states",
            f"{polled['per_second']:.0f}/s, p50 {polled['p50_ms']:.0f} ms, p99 {polled['p99_ms']:.0f} ms, "
            f"{polled['queries_mean']:.1f} queries/request (max {polled['queries_max']})",
            f"/healthz {health['per_second']:.0f}/s, p99 {health['p99_ms']:.0f} ms",
            f"{polled['per_second'] / health['per_second']:.2f}x",
        )
        self.results["status"]["at_aimed_rate"] = self.at_aimed_rate("status", requests, health, 64, polled)

    def memory(self, states: list[Any], paid: list[Any]) -> None:
        slugs = self.demo_slugs
        mixed = []
        for i in range(self.sizes.warmup + self.sizes.memory):
            kind = i % 10
            if kind < 4:
                mixed.append(self.status_request(states[i % len(states)]))
            elif kind < 6:
                mixed.append({"path": "/healthz"})
            elif kind < 8:
                mixed.append({"path": "/api/v1/articles/"})
            else:
                mixed.append({"path": f"/articles/{slugs[i % len(slugs)]}/"})
        warm = self.load(mixed[: self.sizes.warmup], 16)
        after_warmup = memory_kb(self.stack.web_pids())
        run = self.load(mixed[self.sizes.warmup :], 16)
        end = memory_kb(self.stack.web_pids())
        growth = (end["rss_kb"] - after_warmup["rss_kb"]) / after_warmup["rss_kb"]
        self.results["web_memory"] = {
            "warmup": warm,
            "run": run,
            "after_warmup": after_warmup,
            "end": end,
            "rss_growth": growth,
            "mix": "40% status, 20% /healthz, 20% /api/v1/articles/, 20% article pages; 16 at a time",
        }
        self.row(
            f"web memory, gunicorn master + 4 workers, {self.sizes.memory} mixed requests",
            f"RSS {end['rss_kb'] / 1024:.0f} MB (PSS {end['pss_kb'] / 1024:.0f} MB) at the end",
            f"RSS {after_warmup['rss_kb'] / 1024:.0f} MB after {self.sizes.warmup} warm-up requests",
            f"{growth * 100:+.1f}%",
        )

    def burst(self) -> None:
        n = self.sizes.burst
        self.results["burst"] = {}
        for flight in self.in_flight:
            self.flush_redis()
            orders = self.create_orders(n)
            self.stack.model_reset("realistic")
            self.load(self.webhook_requests(orders), 32)
            waited = self.drain([o.pk for o in orders], flight, timeout=max(900, n * 3))
            stats = self.stack.model_stats()
            stats.pop("records")
            drain = waited["last_done_at"] - (stats["first_call_at"] or waited["launched_at"])
            ideal = stats["modelled_seconds"] / flight
            memory = waited["memory_peak_kb"]
            self.results["burst"][str(flight)] = {
                "orders": n,
                "in_flight": flight,
                "drain_seconds": drain,
                "ideal_seconds": ideal,
                "efficiency": ideal / drain,
                "model": stats,
                "drain": waited,
                "memory_peak_kb": memory,
                "pss_mb_per_job": memory["pss_kb"] / 1024 / flight,
                "rss_mb_per_job": memory["rss_kb"] / 1024 / flight,
                "method": "drain = last order at QUALITY_CHECK - first model call; ideal = sum of modelled call "
                "times / jobs in flight; memory = peak of 1 s samples of smaps_rollup over the model worker processes "
                "and children (the maintenance worker apart: a fixed cost per host)",
            }
            fixed = waited["maintenance_memory_peak_kb"]
            self.row(
                f"burst, {n} orders, {flight} in flight",
                f"drain {drain:.1f} s ({waited['done']} done, {waited['failed']} failed); "
                f"PSS {memory['pss_kb'] / 1024:.0f} MB ({memory['pss_kb'] / 1024 / flight:.1f}/job), "
                f"RSS {memory['rss_kb'] / 1024:.0f} MB ({memory['rss_kb'] / 1024 / flight:.1f}/job); "
                f"+ maintenance worker PSS {fixed['pss_kb'] / 1024:.0f} MB",
                f"ideal {ideal:.1f} s ({stats['calls']} calls, {stats['modelled_seconds']:.0f} s model time)",
                f"{ideal / drain * 100:.0f}% efficiency",
            )
            self.stack.model_reset("zero")
        self.flush_redis()

    def tokens(self) -> None:
        from articles.models import Article
        from purchases.models import Order, OrderStatus

        self.flush_redis()
        self.stack.model_reset("realistic")
        self.stack.start_workers(1)
        time.sleep(3)  # the worker's start-up is not the customer's wait at low load
        samples = []
        try:
            for _round in range(self.sizes.token_rounds):
                for article_id in self.demo_ids:
                    order = self.create_orders(1, article_ids=[article_id])[0]
                    request = self.webhook_requests([order])[0]
                    calls_before = self.stack.model_stats()["calls"]
                    post = urllib.request.Request(
                        self.stack.site_url + request["path"],
                        data=request["body"].encode(),
                        headers=request["headers"],
                        method="POST",
                    )
                    start = time.time()
                    urllib.request.urlopen(post, timeout=30).read()
                    waited = self.wait_quality_check([order.pk], timeout=120)
                    took = waited["last_done_at"] - start
                    calls = self.stack.model_stats()["records"][calls_before:]
                    version = Article.objects.get(pk=article_id).published_version
                    body = version.body_markdown if version else ""
                    samples.append(
                        {
                            "article_id": article_id,
                            "ok": Order.objects.get(pk=order.pk).status == OrderStatus.QUALITY_CHECK,
                            "paid_to_draft_seconds": took,
                            "calls": len(calls),
                            "completion_tokens": sum(c["completion_tokens"] for c in calls),
                            "prompt_tokens": sum(c["prompt_tokens"] for c in calls),
                            "modelled_seconds": sum(c["modelled_seconds"] for c in calls),
                            "article_tokens": (len(body) + 3) // 4,
                        }
                    )
        finally:
            self.stack.stop_workers()
            self.stack.model_reset("zero")
        completion = statistics.fmean(s["completion_tokens"] for s in samples)
        article = statistics.fmean(s["article_tokens"] for s in samples)
        modelled = statistics.median(s["modelled_seconds"] for s in samples)
        waits = [s["paid_to_draft_seconds"] for s in samples]
        self.results["tokens"] = {
            "samples": samples,
            "completion_tokens_per_integration": completion,
            "article_tokens": article,
            "ratio": completion / article,
            "paid_to_draft_p50_seconds": pct(waits, 0.5),
            "paid_to_draft_p99_seconds": pct(waits, 0.99),
            "modelled_model_seconds_p50": modelled,
            "token_estimate": "characters / 4, rounded up (as the fake model counts)",
        }
        self.row(
            f"tokens, {len(samples)} integrations over the {len(self.demo_ids)} demo articles",
            f"{completion:.0f} completion tokens an integration",
            f"the article {article:.0f} tokens (chars/4)",
            f"{completion / article * 100:.0f}%",
        )
        self.row(
            "paid to draft at low load (webhook POST to QUALITY_CHECK), 1 worker",
            f"p50 {pct(waits, 0.5):.2f} s, p99 {pct(waits, 0.99):.2f} s",
            f"modelled model time {modelled:.2f} s",
            f"{pct(waits, 0.5) / modelled:.2f}x",
        )

    def warm_up(self) -> None:
        """Every gunicorn worker loads its code paths before anything is timed (uncounted requests)."""
        orders = self.create_orders(64)
        self.load([{"path": "/healthz"}] * 256 + [{"path": "/api/v1/articles/"}] * 64, 16)
        self.load(self.webhook_requests(orders) + [self.status_request(o) for o in orders] * 2, 16)
        self.flush_redis()

    def run(self, figures: list[str]) -> None:
        self.setup_django()
        self.warm_up()
        states: list[Any] = []
        paid: list[Any] = []
        if "webhook" in figures:
            paid = self.webhook()
        if "jobs" in figures:
            states += self.job_overhead()
        if "status" in figures or "memory" in figures:
            states += paid[:1000] + self.create_orders(max(64, self.sizes.status // 25))
            if len(states) < 256:
                states += self.create_orders(256 - len(states))
        if "status" in figures:
            self.status(states)
        if "memory" in figures:
            self.memory(states, paid)
        if "burst" in figures:
            self.burst()
        if "tokens" in figures:
            self.tokens()


def _demo_articles() -> list[dict[str, str]]:
    from articles.demo_content import DEMO_ARTICLES

    return DEMO_ARTICLES


def table(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["| figure | measured | reference in the same run | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def default_database_url() -> str:
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgres"):
        return urlparse(base)._replace(path="/blogorder_bench").geturl()
    return "postgres://127.0.0.1:5432/blogorder_bench"


def _interrupted(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    # Stopped by SIGTERM or Ctrl-C (even when started in the background), the stack is still stopped.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE") or 1.0))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or default_database_url(),
        help="a dedicated PostgreSQL database, dropped and created (its name must contain 'bench')",
    )
    parser.add_argument("--redis-port", type=int, default=int(os.environ.get("BENCH_REDIS_PORT") or 6480))
    parser.add_argument("--web-port", type=int, default=int(os.environ.get("BENCH_WEB_PORT") or 8480))
    parser.add_argument("--model-port", type=int, default=int(os.environ.get("BENCH_MODEL_PORT") or 8481))
    parser.add_argument(
        "--worker",
        choices=sorted(WORKERS),
        default=os.environ.get("BENCH_WORKER") or "threads",
        help="the worker set-up: threads (one rqworker_pool --threads N process, the default), "
        "threads-per-cpu (one such process per CPU) or forked (N rqworker)",
    )
    parser.add_argument(
        "--worker-cmd",
        default=os.environ.get("BENCH_WORKER_CMD"),
        help="instead of --worker: started once per job in flight; with {n} in it, started once with "
        "{n} = jobs in flight",
    )
    parser.add_argument(
        "--maintenance-cmd",
        default=os.environ.get("BENCH_MAINTENANCE_CMD", MAINTENANCE),
        help="started once beside the workers for the maintenance queue ('' for none: then nothing "
        "takes the receipt jobs)",
    )
    parser.add_argument("--web-cmd", default=os.environ.get("BENCH_WEB_CMD") or DEFAULT_WEB)
    parser.add_argument("--in-flight", default=os.environ.get("BENCH_IN_FLIGHT") or "8,16,32")
    parser.add_argument(
        "--figures",
        default=os.environ.get("BENCH_FIGURES") or "webhook,jobs,status,memory,burst,tokens",
        help="a subset of webhook,jobs,status,memory,burst,tokens",
    )
    args = parser.parse_args()
    if not args.worker_cmd:
        args.worker_cmd = WORKERS[args.worker]
    else:
        args.worker = "custom"
    sizes = Sizes.scaled(args.scale)
    in_flight = [int(x) for x in args.in_flight.split(",") if x]
    figures = [f.strip() for f in args.figures.split(",") if f.strip()]
    total_orders = 2 * sizes.webhook + sizes.jobs + sizes.burst * len(in_flight) + sizes.status // 25 + 400
    slots = 25
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = ROOT / "bench" / "results"
    stack = Stack(
        database_url=args.database_url,
        redis_port=args.redis_port,
        web_port=args.web_port,
        model_port=args.model_port,
        web_command=args.web_cmd,
        worker_command=args.worker_cmd,
        maintenance_command=args.maintenance_cmd,
        log_dir=ROOT / "var" / "bench" / stamp,
    )
    print(
        f"bench: scale {args.scale}, sizes {sizes}, in flight {in_flight}; logs in {stack.log_dir}",
        flush=True,
    )
    started = time.time()
    load_before = os.getloadavg()
    bench = Bench(stack, sizes, in_flight)
    stopped: BaseException | None = None
    try:
        stack.start(articles=total_orders // slots + 1, slots=slots)
        bench.run(figures)
    except BaseException as exc:  # stopped or failed: what was measured is still printed and written
        stopped = exc
    finally:
        stack.stop()
    meta = {
        "started": stamp,
        "seconds": time.time() - started,
        "scale": args.scale,
        "sizes": sizes.__dict__,
        "cpus": os.cpu_count(),
        # Another load on the machine skews every figure: compare runs made on a quiet machine.
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "complete": stopped is None,
        "stopped_by": repr(stopped) if stopped else None,
        "web_command": args.web_cmd,
        "worker_setup": args.worker,
        "worker_command": args.worker_cmd,
        "settings": "blogorder.settings.bench (production + local test payments, plain HTTP, X-Bench-Queries)",
        "provider_limits": "LLM_MAX_CONCURRENT_CALLS=64, LLM_REQUESTS_PER_MINUTE=off, LLM_TOKENS_PER_MINUTE=off",
        "model": "bench/fake_model.py: zero delay, or 0.5 s + completion tokens / 70 per call (no streaming)",
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }
    printed = table(bench.rows)
    results_dir.mkdir(exist_ok=True)
    path = results_dir / f"{stamp}.json"
    path.write_text(
        json.dumps({"meta": meta, "table": printed, "figures": bench.results}, indent=2, default=str)
    )
    print()
    print(
        f"blogorder bench {stamp} (git {meta['git']}, {meta['cpus']} CPUs, scale {args.scale}, "
        f"{meta['seconds'] / 60:.1f} min, load average {load_before[0]:.1f} before, "
        f"{meta['load_average_after'][0]:.1f} after); worker set-up: {args.worker} ({args.worker_cmd})"
    )
    print(printed)
    print(f"\nJSON: {path.relative_to(ROOT)}")
    if stopped is not None:
        print(f"incomplete: stopped by {stopped!r}")
        if not isinstance(stopped, SystemExit | KeyboardInterrupt):
            raise stopped


if __name__ == "__main__":
    main()
