"""Reads for the shop window: published articles with their price and how many backlink slots are left.

Slots are order knowledge (which orders hold one), so the catalog lives with orders; the
``articles`` app knows only content.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, F, IntegerField, QuerySet, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from articles.models import Article
from purchases.models import Order, slot_holding_q


def article_catalog(*, only_published: bool = True) -> QuerySet[Article]:
    """Articles with ``slots_left`` annotated (0 when sold out), newest first."""
    qs = (
        Article.objects.select_related("published_version")
        .annotate(
            slots_used=Count("orders", filter=slot_holding_q(now=timezone.now(), prefix="orders__")),
        )
        .annotate(
            slots_left=Greatest(F("max_backlinks") - F("slots_used"), Value(0), output_field=IntegerField())
        )
    )
    if only_published:
        qs = qs.filter(published_version__isnull=False)
    return qs.order_by("-created_at", "-id")


def article_slots_used(*, article_id: int, exclude_order_id: UUID | None = None) -> int:
    """Backlink slots of the article held by orders now (paid and alive, or an open checkout)."""
    qs = Order.objects.filter(slot_holding_q(now=timezone.now()), article_id=article_id)
    if exclude_order_id is not None:
        qs = qs.exclude(pk=exclude_order_id)
    return qs.count()


def article_get_published(*, article_id: int | None = None, slug: str | None = None) -> Article | None:
    qs = article_catalog()
    if article_id is not None:
        qs = qs.filter(pk=article_id)
    if slug is not None:
        qs = qs.filter(slug=slug)
    return qs.first()
