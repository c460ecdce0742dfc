"""The catalog with 10,000 articles: each filter and sort of ``GET /api/v1/articles/``, timed, with its plan.

    DATABASE_URL=postgres://user@host:5432/blogorder_bench \\
        .venv/bin/python -m bench.catalog [--articles 10000] [--orders 3000] [--repeat 15]

Use a database of its own (it adds rows and deletes none). It seeds ``seed_demo --articles N
--slots 3`` (idempotent: a second run reuses the rows), adds up to ``--orders`` paid backlink
orders as plain rows spread over the articles so that slots left vary, and runs ANALYZE.

Then, for each case, the two queries the API runs (the paginator's count and the first page of 20,
as ``article_catalog_search`` builds them) are timed (median of ``--repeat``), and
``EXPLAIN (ANALYZE)`` of the page query names the indexes it used and any table it read in full.
The reference, from the same run, is a primary-key lookup of one article and the whole API request
of the unfiltered list (through Django's test client, so no network). It prints one table and never
fails on time: it is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blogorder.settings.local")
os.environ.setdefault("DJANGO_DEBUG", "false")  # as in production: no query log

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import QuerySet  # noqa: E402
from django.test import Client  # noqa: E402

from articles.models import Article  # noqa: E402
from bench.querycount import statements_counted  # noqa: E402
from purchases.catalog.selectors import CatalogQuery, article_catalog_search  # noqa: E402
from purchases.models import Order, OrderStatus  # noqa: E402

PAGE = 20
CASES: list[tuple[str, str, CatalogQuery]] = [
    ("newest (default)", "", CatalogQuery()),
    ("oldest", "sort=created", CatalogQuery(sort="created")),
    ("price, low to high", "sort=price", CatalogQuery(sort="price")),
    ("price, high to low", "sort=-price", CatalogQuery(sort="-price")),
    ("slots left, most", "sort=-slotsLeft", CatalogQuery(sort="-slotsLeft")),
    ("slots left, fewest", "sort=slotsLeft", CatalogQuery(sort="slotsLeft")),
    ("category", "category=garden", CatalogQuery(categories=("garden",))),
    ("two categories", "category=garden,health", CatalogQuery(categories=("garden", "health"))),
    ("language (rare: de)", "language=de", CatalogQuery(languages=("de",))),
    ("language (common: en)", "language=en", CatalogQuery(languages=("en",))),
    (
        "price range 50-80",
        "minPrice=50&maxPrice=80",
        CatalogQuery(min_price=Decimal(50), max_price=Decimal(80)),
    ),
    ("free slots >= 1", "minSlots=1", CatalogQuery(min_slots_left=1)),
    ("free slots >= 3", "minSlots=3", CatalogQuery(min_slots_left=3)),
    ("search title (rare)", "q=(777)", CatalogQuery(text="(777)")),
    ("search text (common)", "q=espresso", CatalogQuery(text="espresso")),
    ("search, no match", "q=zeppelin", CatalogQuery(text="zeppelin")),
    (
        "all filters, by price",
        "category=food-drink&language=en&minPrice=10&minSlots=1&q=grinder&sort=price",
        CatalogQuery(
            categories=("food-drink",),
            languages=("en",),
            min_price=Decimal(10),
            min_slots_left=1,
            text="grinder",
            sort="price",
        ),
    ),
]
INDEX_USE = re.compile(r"(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)")
FULL_READ = re.compile(r"Seq Scan on (\w+)")


def seed(articles: int, orders: int) -> None:
    call_command("seed_demo", "--no-admin", "--articles", str(articles), "--slots", "3", verbosity=0)
    have = Order.objects.count()
    if have < orders:
        ids = list(Article.objects.order_by("id").values_list("id", flat=True))
        statuses = [OrderStatus.PUBLISHED, OrderStatus.PROCESSING, OrderStatus.QUALITY_CHECK]
        rows = [
            Order(
                article_id=ids[(n * 7) % len(ids)],  # every 7th article, some of them several times
                status=statuses[n % len(statuses)],
                customer_email=f"bench{n}@example.com",
                target_url=f"https://shop{n}.example.com/",
                anchor_text="bench link",
                amount=Decimal("49.00"),
                currency="usd",
                token_salt=uuid.uuid4().hex,
            )
            for n in range(have, orders)
        ]
        Order.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def queries_of(run: Callable[[], Any]) -> int:
    """How many statements ``run`` sends to the database (``DEBUG`` is off: no query log)."""
    with statements_counted() as count:
        run()
    return count[0]


def first_page(found: QuerySet[Article]) -> list[Article]:
    return list(found[:PAGE])  # a new slice each time: nothing cached between runs


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm the cache and the connection
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def plan(query: CatalogQuery) -> tuple[list[str], list[str], float]:
    text = article_catalog_search(query=query)[:PAGE].explain(analyze=True)
    executed = float(re.search(r"Execution Time: ([\d.]+) ms", text).group(1))  # type: ignore[union-attr]
    return sorted(set(INDEX_USE.findall(text))), sorted(set(FULL_READ.findall(text))), executed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=3_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--show-plans", action="store_true", help="Print each EXPLAIN ANALYZE in full.")
    parser.add_argument(
        "--jit-off",
        action="store_true",
        help="SET jit = off first: a sort on slots left is costed past jit_above_cost, and compiling "
        "it takes longer than running it.",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit(
            "bench.catalog measures PostgreSQL plans: set DATABASE_URL to a PostgreSQL database."
        )
    if args.jit_off:  # on every connection, including one opened again between requests
        connection.close()
        connection.settings_dict.setdefault("OPTIONS", {})["options"] = "-c jit=off"

    started = time.perf_counter()
    seed(args.articles, args.orders)
    published = Article.objects.filter(published_version__isnull=False).count()
    print(
        f"{published} published articles, {Order.objects.count()} orders "
        f"(seeded in {time.perf_counter() - started:.0f} s); median of {args.repeat} runs; "
        f"jit {'off' if args.jit_off else 'as the server has it'}\n"
    )

    some_id = Article.objects.order_by("id").values_list("id", flat=True)[published // 2]
    pk_ms = median_ms(Article.objects.filter(pk=some_id).first, args.repeat)
    client = Client()
    list_ms = median_ms(partial(client.get, "/api/v1/articles/"), args.repeat)
    print(
        f"reference: primary-key lookup {pk_ms:.2f} ms; the whole API request, unfiltered list {list_ms:.1f} ms\n"
    )

    print(
        "| case | results | page query ms | count query ms | x pk lookup | API request ms | queries | indexes used | read in full |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, params, query in CASES:
        found = article_catalog_search(query=query)
        page_ms = median_ms(partial(first_page, found), args.repeat)
        count_ms = median_ms(found.count, args.repeat)
        request = partial(client.get, f"/api/v1/articles/?{params}")
        response = request()
        queries = queries_of(request)
        api_ms = median_ms(request, max(3, args.repeat // 3))
        assert response.status_code == 200, response.content
        indexes, full, _ = plan(query)
        if args.show_plans:
            print(article_catalog_search(query=query)[:PAGE].explain(analyze=True))
        print(
            f"| {label} | {response.json()['count']} | {page_ms:.1f} | {count_ms:.1f} | "
            f"{(page_ms + count_ms) / pk_ms:.0f}x | {api_ms:.1f} | {queries} | "
            f"{', '.join(indexes) or '-'} | {', '.join(full) or '-'} |"
        )


if __name__ == "__main__":
    main()
