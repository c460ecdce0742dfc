"""Quick worker benchmark: drain time of paid orders vs bare no-op RQ jobs, and worker memory (PSS).

    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6437/0 \
        .venv/bin/python bench/worker_quick.py [--orders 200] [--noop 500] [--horses 1] [--worker rqworker|pool]

Uses the database and Redis it is given (it creates its own article and orders; nothing is
deleted). Orders are placed with ``order_checkout_create`` and paid with a signed
``checkout.session.completed`` webhook through the Django stack; the offline writer answers
(zero model time). Then a real worker process (``manage.py rqworker --burst`` or, with
``--worker pool``, ``manage.py rqworker-pool --burst``; with ``--worker threads``,
``manage.py rqworker_pool --threads N --burst``) drains the queue: the time runs from
the worker registering in Redis to the last order reaching QUALITY_CHECK. The same worker set-up
then drains ``--noop`` bare no-op jobs. Memory: PSS and RSS of the worker processes and their
children, from /proc/<pid>/smaps_rollup, at their peak (sampled every 0.2 s).
Prints figures; asserts nothing, never fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blogorder.settings.local")
os.environ.pop("OPENAI_API_KEY", None)  # the offline writer: no model time
os.environ.setdefault("DJANGO_DEBUG", "false")  # as in production: no query log

import django  # noqa: E402

django.setup()

import django_rq  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from rq import Worker  # noqa: E402

from articles.demo_content import DEMO_ARTICLES  # noqa: E402
from articles.services import article_create  # noqa: E402
from purchases.models import Order, OrderStatus  # noqa: E402
from purchases.services.checkout import order_checkout_create  # noqa: E402
from purchases.test_mode import checkout_completed_event, sign_payload  # noqa: E402

QUEUE = "backlink-integration"
WORKER_ENV: dict[str, str] = {}
# A passing integration of the demo article (the fake model's answer with --model).
REPLY = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches in the morning, [[memory foam pillows]] can help keep your spine aligned "
        "through the night.",
    }
)


def tree(pid: int) -> list[int]:
    pids = [pid]
    for p in pids:
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(c) for c in (task / "children").read_text().split()]
    return pids


def memory(pid: int) -> tuple[float, float, int]:
    """PSS and RSS in MB of ``pid`` and its descendants, and how many processes."""
    pss = rss = 0
    pids = tree(pid)
    detail = []
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                    detail.append(int(line.split()[1]) // 1024)
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            pass
    if os.environ.get("BENCH_MEMORY_DETAIL"):
        print("PSS MB per process:", detail, file=sys.stderr)
    return pss / 1024, rss / 1024, len(pids)


def run_worker(args: argparse.Namespace, done: Callable[[], bool]) -> dict[str, float]:
    """Start the worker set-up, time from its registration until ``done()``; peak memory meanwhile."""
    connection = django_rq.get_connection(QUEUE)
    before = {w.name for w in Worker.all(connection=connection)}
    if args.worker == "threads":
        cmd = [sys.executable, "manage.py", "rqworker_pool", QUEUE, "--threads", str(args.horses), "--burst"]
    elif args.worker == "pool":
        cmd = [
            sys.executable,
            "manage.py",
            "rqworker-pool",
            QUEUE,
            "--num-workers",
            str(args.horses),
            "--burst",
        ]
    else:
        cmd = [sys.executable, "manage.py", "rqworker", QUEUE, "--burst"]
    cmd += args.extra
    # e.g. WORKER_PREFIX="py-spy record -o out.svg --subprocesses --" to profile the worker
    cmd = os.environ.get("WORKER_PREFIX", "").split() + cmd
    with open("/tmp/worker_quick.log", "ab") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **WORKER_ENV}, stdout=subprocess.DEVNULL, stderr=log
        )
    while not ({w.name for w in Worker.all(connection=connection)} - before):
        time.sleep(0.005)
        if proc.poll() is not None:
            raise SystemExit(f"worker exited early ({proc.returncode}); see /tmp/worker_quick.log")
    t0 = time.perf_counter()
    peak = {"pss": 0.0, "rss": 0.0, "procs": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            pss, rss, n = memory(proc.pid)
            if pss > peak["pss"]:
                peak.update(pss=pss, rss=rss, procs=n)
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    while not done():
        time.sleep(0.02)
    took = time.perf_counter() - t0
    stop.set()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc.wait(timeout=60)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of the worker set-up and its work horses (all waited for), whole run: robust to a busy machine.
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return {"seconds": took, "cpu_seconds": cpu, **peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--noop", type=int, default=500)
    parser.add_argument("--horses", type=int, default=1)
    parser.add_argument("--worker", choices=["rqworker", "pool", "threads"], default="rqworker")
    parser.add_argument(
        "--model", action="store_true", help="a fake model: 0.5 s to first token, then 70 completion tokens/s"
    )
    parser.add_argument("extra", nargs="*", help="more arguments for the worker command")
    args = parser.parse_args()

    queue = django_rq.get_queue(QUEUE)
    results: dict[str, Any] = {"worker": args.worker, "horses": args.horses, "model": args.model}
    fake = None
    if args.model:
        from tests.fakes.openai_server import FakeOpenAI, _tokens

        model_seconds = 0.5 + _tokens(REPLY) / 70
        fake = FakeOpenAI().start()
        fake.call_seconds = model_seconds  # counted in flight (max_in_flight)
        fake.default = lambda request: REPLY
        # The bench's own provider limits: as many calls as jobs in flight, no per-minute caps.
        WORKER_ENV.update(
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=f"{fake.url}/v1",
            LLM_MAX_CONCURRENT_CALLS=str(max(args.horses, 1)),
            LLM_REQUESTS_PER_MINUTE="off",
            LLM_TOKENS_PER_MINUTE="off",
        )
    if args.orders:
        demo = DEMO_ARTICLES[0]
        article = article_create(
            title=demo["title"],
            body_markdown=demo["body"],
            slug=f"bench-{time.time_ns()}",
            max_backlinks=args.orders + 1,
        )
        client = Client(HTTP_HOST="127.0.0.1")
        ids = []
        for i in range(args.orders):
            order, _ = order_checkout_create(
                article_id=article.pk,
                target_url=f"https://shop{i}.example-store.com/p",
                anchor_text="memory foam pillows",
                customer_email=f"b{i}-{time.time_ns()}@example.com",
            )
            payload = json.dumps(checkout_completed_event(order=order)).encode()
            header = sign_payload(payload, secret=settings.STRIPE_WEBHOOK_SECRET)
            response = client.post(
                "/api/v1/purchase/webhook",
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=header,
            )
            assert response.status_code == 200, response.content
            ids.append(order.id)
        drain = run_worker(
            args,
            lambda: Order.objects.filter(id__in=ids, status=OrderStatus.QUALITY_CHECK).count() == len(ids),
        )
        drain["per_second"] = args.orders / drain["seconds"]
        results["drain"] = drain
        if fake is not None:
            ideal = len(fake.requests) * model_seconds / args.horses
            results["burst"] = {
                "model_calls": len(fake.requests),
                "ideal_seconds": ideal,
                "efficiency": ideal / drain["seconds"],
                "max_calls_in_flight": fake.max_in_flight,
                "pss_per_job_in_flight": drain["pss"] / args.horses,
                "rss_per_job_in_flight": drain["rss"] / args.horses,
            }
            print(f"burst: {json.dumps(results['burst'])}")
            fake.stop()
    if args.noop:
        for _ in range(args.noop):
            queue.enqueue("os.getpid")
        noop = run_worker(args, lambda: queue.count == 0 and queue.started_job_registry.count == 0)
        noop["per_second"] = args.noop / noop["seconds"]
        results["noop"] = noop
    if args.orders and args.noop:
        d, n = results["drain"], results["noop"]
        results["ratio"] = d["per_second"] / n["per_second"]
        results["overhead_ms"] = (1 / d["per_second"] - 1 / n["per_second"]) * 1000
    for key in ("drain", "noop"):
        if key in results:
            r = results[key]
            print(
                f"{key:6}: {r['cpu_seconds'] * 1000 / (args.orders if key == 'drain' else args.noop):6.1f} ms CPU each  "
                f"{r['per_second']:7.1f}/s  ({r['seconds']:.2f} s)  peak PSS {r['pss']:.1f} MB "
                f"RSS {r['rss']:.1f} MB over {r['procs']} processes"
            )
    if "ratio" in results:
        print(f"drain/no-op: {results['ratio']:.2f}x; overhead per order {results['overhead_ms']:.1f} ms")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"worker_quick-{int(time.time())}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
