"""Test data built through the project's own services."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from articles.models import Article
from articles.services import article_create
from purchases.services.checkout import order_checkout_create

_seq = itertools.count(1)

ARTICLE_BODY = """# Ten Ways to Sleep Better

Good sleep is the cheapest performance upgrade there is, yet most of us treat it as optional.

## Keep a schedule

Going to bed and waking at the same time every day trains your body clock. Weekends count too.

## Mind the light

Bright screens late at night delay melatonin. Dim the lights an hour before bed and keep the phone out of reach.

Morning daylight does the opposite and helps you feel sleepy at the right time in the evening.

## Cool and quiet

A cool, dark and quiet room makes falling asleep easier. The [sleep foundation](https://www.sleepfoundation.org/) suggests a room temperature of around 18 degrees.
"""


def make_published_article(**overrides: Any) -> Article:
    n = next(_seq)
    fields: dict[str, Any] = {
        "title": f"Ten Ways to Sleep Better {n}",
        "slug": f"sleep-better-{n}",
        "body_markdown": ARTICLE_BODY,
        "backlink_price": Decimal("49.00"),
        "max_backlinks": 3,
    }
    fields.update(overrides)
    return article_create(**fields)


def make_order(article: Article, **overrides: Any) -> tuple[Any, str]:
    n = next(_seq)
    fields: dict[str, Any] = {
        "article_id": article.pk,
        "target_url": f"https://shop{n}.example-store.com/pillows",
        "anchor_text": "memory foam pillows",
        "customer_email": f"buyer{n}@example.com",
        "customer_notes": "",
    }
    fields.update(overrides)
    return order_checkout_create(**fields)
