"""One web worker's memory over the production bench's mixed requests, through the WSGI application.

    DATABASE_URL=postgres://.../<throwaway> REDIS_URL=redis://127.0.0.1:<port>/14 \
        .venv/bin/python -m bench.web_memory [--warmup 250] [--requests 2500] [--chunk 500] \
        [--tracemalloc FRAMES] [--garbage N]

No server, under ``blogorder.settings.bench``: this process prepares the database and the requests,
then a fresh one imports ``blogorder.wsgi`` first, as a gunicorn worker does, and hands it the
requests one by one (WSGI environs, as in ``bench.profile_web``). It does what one of the bench's
4 gunicorn workers sees of ``python -m bench.production`` (its "memory" part, README "Benchmarks"):

- the bench's own warm-up, a quarter of it: 64 /healthz, 16 of the articles API, 16 webhooks
  (``checkout.session.completed``) and 32 status reads;
- ``--warmup`` mixed requests (the bench's 1,000 over 4 workers): 40% status reads over many
  orders (half of ``--orders`` paid by webhooks first), 20% /healthz, 20% ``/api/v1/articles/``, 20% the demo article pages;
- then ``--requests`` more of the same mix (the bench's 10,000 over 4 workers), in ``--chunk``s.

It prints the RSS (``/proc/self/status``) after the warm-up, then after each chunk beside that
reference, with glibc's heap in use and free (``mallinfo2``) and Python's own allocations
(``sys.getallocatedblocks``). With ``--tracemalloc N`` it also prints the top allocations grown
between the warm-up and the end by traceback (N frames), each after a full collection: what stays,
not the garbage waiting for one (slower; the RSS figures then include tracemalloc's own). With
``--garbage N`` it then sends N requests of each kind and prints what each leaves to the cyclic
garbage collector (reference cycles, freed only by a collection), by type.
It adds articles and orders to the database it is given (point it at a throwaway one), migrates
it and runs ``collectstatic``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.profile_web import (  # also sets the bench's environment
    Request,
    call,
    status_request,
    unpaid_order,
    webhook_request,
)

PROJECT_DIRS = ("/articles/", "/purchases/", "/queueing/", "/blogorder/", "/bench/")


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks")
        + ("fordblks", "keepcost")
    ]


def _mallinfo() -> Callable[[], MallInfo2] | None:
    path = ctypes.util.find_library("c")
    if path is None:
        return None
    libc = ctypes.CDLL(path)
    function = getattr(libc, "mallinfo2", None)
    if function is None:
        return None
    function.restype = MallInfo2
    return function  # type: ignore[no-any-return]


MALLINFO = _mallinfo()


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def figures() -> dict[str, float]:
    out = {"rss_mb": rss_kb() / 1024, "py_blocks": float(sys.getallocatedblocks())}
    if MALLINFO is not None:
        info = MALLINFO()
        out["heap_used_mb"] = (info.uordblks + info.hblkhd) / 2**20
        out["heap_free_mb"] = info.fordblks / 2**20
    return out


def line(label: str, now: dict[str, float], ref: dict[str, float] | None) -> str:
    text = f"{label:>26}: RSS {now['rss_mb']:7.1f} MB"
    if ref is not None:
        grown = now["rss_mb"] - ref["rss_mb"]
        text += f" (warm-up {ref['rss_mb']:.1f}, {grown:+.1f} MB, {grown / ref['rss_mb'] * 100:+.1f}%)"
    if "heap_used_mb" in now:
        text += f"  malloc in use {now['heap_used_mb']:6.1f} free {now['heap_free_mb']:5.1f} MB"
        if ref is not None:
            text += f" (warm-up {ref['heap_used_mb']:.1f} / {ref['heap_free_mb']:.1f})"
    text += f"  Python blocks {now['py_blocks']:,.0f}"
    if ref is not None:
        text += f" ({now['py_blocks'] - ref['py_blocks']:+,.0f})"
    return text


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int) -> None:
    noise = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*"),
    ]
    stats = after.filter_traces(noise).compare_to(before.filter_traces(noise), "traceback")
    grown = [s for s in stats if s.size_diff > 0]
    print(
        f"\ntracemalloc: {sum(s.size_diff for s in grown) / 1024:.0f} KiB grown in {len(grown)} tracebacks; top {top}:"
    )
    for stat in grown[:top]:
        print(f"\n+{stat.size_diff / 1024:.1f} KiB in {stat.count_diff:+d} blocks")
        frames = stat.traceback.format(most_recent_first=True)
        shown = [f for f in frames if "File" in f][:3]
        shown += [f for f in frames if "File" in f and any(d in f for d in PROJECT_DIRS)][:2]
        for frame in dict.fromkeys(shown):
            print(f"    {frame.strip()}")


def cyclic_garbage(
    kind: str, send: Callable[[list[Request]], None], requests: list[Request], top: int
) -> None:
    """What ``requests`` leave to the cyclic garbage collector (objects only freed by a collection)."""
    n = len(requests)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        send(requests)
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    size = sum(sys.getsizeof(o) for o in garbage)
    print(
        f"\n{kind}: {len(garbage) / n:.0f} objects ({size / n / 1024:.1f} KiB, shallow) of cyclic garbage a request"
    )
    by_type = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in garbage)
    for name, count in by_type.most_common(top):
        print(f"    {count / n:6.1f}  {name}")
    del garbage


def prepare(args: argparse.Namespace) -> dict[str, list[Request]]:
    """The database's articles and orders, and the requests to send (this process; not measured)."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # as the bench's stack does
    from articles.demo_content import DEMO_ARTICLES
    from articles.models import Article
    from articles.services import article_create

    if not Article.objects.filter(slug=DEMO_ARTICLES[0]["slug"]).exists():
        call_command("seed_demo", "--no-admin", "--articles", "40", "--slots", "30", verbosity=0)
    stamp = str(time.time_ns())
    body = "\n\n".join(["# A Guide"] + [f"Paragraph {i} explains one more habit." for i in range(20)])
    articles = [  # slots for this run's orders (the demo articles' may be sold by earlier runs)
        article_create(
            title=f"Memory article {stamp} {i}", body_markdown=body, backlink_price=10, max_backlinks=100
        ).pk
        for i in range(args.orders // 50 + 1)
    ]
    made = [0]

    def new_orders(n: int) -> list[tuple[Any, str]]:
        made[0] += n
        return [
            unpaid_order(articles[i % len(articles)], i, email_prefix=f"memory{stamp}")
            for i in range(made[0] - n, made[0])
        ]

    webhook, status = webhook_request, status_request

    def get(path: str) -> Request:
        return ("GET", path, b"", {})

    warm_orders, polled = new_orders(16), new_orders(args.orders)
    slugs = [a["slug"] for a in DEMO_ARTICLES]

    def mixed(i: int) -> Request:
        kind = i % 10
        if kind < 4:
            return status(polled[i % len(polled)])
        if kind < 6:
            return get("/healthz")
        if kind < 8:
            return get("/api/v1/articles/")
        return get(f"/articles/{slugs[i % len(slugs)]}/")

    plan = {
        "warm-up": [get("/healthz")] * 64
        + [get("/api/v1/articles/")] * 16
        + [webhook(o) for o, _ in warm_orders]
        + [status(s) for s in warm_orders] * 2
        # half the polled orders paid, as the bench's are (the webhook figure's orders and new ones)
        + [webhook(o) for o, _ in polled[: len(polled) // 2]]
        + [mixed(i) for i in range(args.warmup)],
        "mixed": [mixed(args.warmup + i) for i in range(args.requests)],
    }
    if args.garbage:
        plan |= {
            "garbage: status": [status(polled[i % len(polled)]) for i in range(args.garbage)],
            "garbage: healthz": [get("/healthz")] * args.garbage,
            "garbage: articles API": [get("/api/v1/articles/")] * args.garbage,
            "garbage: article page": [
                get(f"/articles/{slugs[i % len(slugs)]}/") for i in range(args.garbage)
            ],
            "garbage: webhook": [webhook(o) for o, _ in new_orders(args.garbage)],
        }
    return plan


def serve(args: argparse.Namespace, plan: dict[str, list[Request]]) -> None:
    """The requests through the WSGI application, loaded first in this fresh process as by a gunicorn worker."""
    started = figures()
    from blogorder.wsgi import application

    loaded = figures()
    statuses: dict[int, int] = {}

    def send(requests: list[Request]) -> None:
        for request in requests:
            code, _ = call(application, request)
            statuses[code] = statuses.get(code, 0) + 1

    send(plan["warm-up"])
    if args.tracemalloc:
        tracemalloc.start(args.tracemalloc)
    ref = figures()
    before = None
    if args.tracemalloc:
        gc.collect()  # what stays, not the garbage waiting for a collection
        before = tracemalloc.take_snapshot()
    print(line("at start", started, None))
    print(line("application loaded", loaded, None))
    print(line(f"after warm-up ({len(plan['warm-up'])} req)", ref, None))
    mixed = plan["mixed"]
    in_gc = [0.0, 0.0]  # CPU seconds in the garbage collector, when the current collection started

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            in_gc[1] = time.process_time()
        else:
            in_gc[0] += time.process_time() - in_gc[1]

    gc.callbacks.append(timed)
    cpu = time.process_time()
    full_collections = gc.get_stats()[2]["collections"]
    for done in range(0, len(mixed), args.chunk):
        chunk = mixed[done : done + args.chunk]
        send(chunk)
        print(line(f"after {done + len(chunk)} mixed", figures(), ref))
    cpu = time.process_time() - cpu
    gc.callbacks.remove(timed)
    full_collections = gc.get_stats()[2]["collections"] - full_collections
    print(
        f"statuses: {statuses}; CPU {cpu * 1000 / max(1, len(mixed)):.2f} ms a mixed request (this process),"
        f" of which {in_gc[0] * 1000 / max(1, len(mixed)):.3f} ms in the garbage collector;"
        f" {full_collections} full garbage collections; {gc.get_freeze_count():,} objects frozen"
    )
    if before is not None:
        gc.collect()
        top_growth(before, tracemalloc.take_snapshot(), args.top)
    for name, requests in plan.items():
        if name.startswith("garbage: "):
            cyclic_garbage(name.removeprefix("garbage: "), send, requests, args.top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warmup", type=int, default=250, help="mixed requests before the reference")
    parser.add_argument("--requests", type=int, default=2500, help="mixed requests measured")
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--orders", type=int, default=600, help="orders polled (half paid)")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES", help="frames kept (0: off)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--garbage",
        type=int,
        default=0,
        metavar="N",
        help="then N requests of each kind: their cyclic garbage",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the child: the plan's file
    args = parser.parse_args()
    if args.serve:
        plan = json.loads(args.serve.read_text())
        serve(args, {k: [(m, p, b.encode("latin-1"), h) for m, p, b, h in v] for k, v in plan.items()})
        return
    plan = prepare(args)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump({k: [(m, p, b.decode("latin-1"), h) for m, p, b, h in v] for k, v in plan.items()}, f)
        f.flush()
        subprocess.run(
            [sys.executable, "-m", "bench.web_memory", *sys.argv[1:], "--serve", f.name], check=True
        )


if __name__ == "__main__":
    main()
