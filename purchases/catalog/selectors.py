"""Reads for the shop window: published articles with their price and how many backlink slots are left.

Slots are order knowledge (which orders hold one), so the catalog lives with orders; the
``articles`` app knows only content.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from articles.content import link_preview_html
from articles.models import Article, ArticleVersion, Category
from blogorder.compiled_reads import CompiledRead
from purchases.models import Order, open_checkout_q, paid_slot_q

# Sort name (as the API and the page spell it) -> order_by; ties fall back to newest first.
CATALOG_SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "price": ("backlink_price", "id"),
    "-price": ("-backlink_price", "-id"),
    "slotsLeft": ("slots_left", "-created_at", "-id"),
    "-slotsLeft": ("-slots_left", "-created_at", "-id"),
}
CATALOG_DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class CatalogQuery:
    """What a buyer asked the catalog for (already validated: known sort, categories and languages).

    Several categories or languages mean any of them; ``text`` is matched, ignoring case, in the
    title and the published text.
    """

    categories: Sequence[str] = ()
    languages: Sequence[str] = ()
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_slots_left: int | None = None
    text: str = ""
    sort: str = CATALOG_DEFAULT_SORT


def _unpaid_holds_counted(unpaid: Expression | F) -> Expression | F:
    """Unpaid checkouts hold at most ``UNPAID_HOLDS_PER_ARTICLE`` of an article's slots between them.

    Past that they still open but take nothing, so unpaid checkouts alone never sell an article
    out. The price: if more of them pay than slots are left, the order still goes ahead and the
    editors are told (``order_mark_paid``).
    """
    cap = settings.UNPAID_HOLDS_PER_ARTICLE
    if cap is None:
        return unpaid
    return Least(unpaid, Value(cap), output_field=IntegerField())


def _holds(prefix: str, *, now: datetime | None = None) -> tuple[Q, Q]:
    """The backlink orders holding a slot: (paid and alive, unpaid with an open checkout at ``now``)."""
    backlink = Q(**{f"{prefix}kind": Order.Kind.BACKLINK})
    return backlink & paid_slot_q(prefix=prefix), backlink & open_checkout_q(
        now=now or timezone.now(), prefix=prefix
    )


def _orders_holding(condition: Q) -> Coalesce:
    """How many of the outer article's orders meet ``condition``: a correlated count, so a page of
    articles costs one index probe per article shown (``Order``'s ``(article, status)`` index), and
    neither a GROUP BY over the whole catalog nor a query per row."""
    counted = (
        Order.objects.filter(condition, article_id=OuterRef("pk"))
        .order_by()
        .values("article_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def article_catalog(*, only_published: bool = True) -> QuerySet[Article]:
    """Articles with ``slots_left`` annotated (0 when sold out), newest first."""
    paid, unpaid = _holds("")
    qs = (
        Article.objects.select_related("published_version")
        .annotate(paid_slots=_orders_holding(paid), unpaid_holds=_orders_holding(unpaid))
        .annotate(slots_used=F("paid_slots") + _unpaid_holds_counted(F("unpaid_holds")))
        .annotate(
            slots_left=Greatest(F("max_backlinks") - F("slots_used"), Value(0), output_field=IntegerField())
        )
    )
    if only_published:
        qs = qs.filter(published_version__isnull=False)
    return qs.order_by(*CATALOG_SORTS[CATALOG_DEFAULT_SORT])


def article_catalog_search(*, query: CatalogQuery) -> QuerySet[Article]:
    """The published articles ``query`` asks for, sorted, with their categories prefetched.

    One query per page plus one for their published versions and one for their categories (and the
    paginator's count). Each filter is
    served by an index (migration ``articles.0006``): price and newest by B-tree indexes, the text by
    trigram indexes on PostgreSQL (``icontains`` elsewhere scans), categories by the link table's.
    """
    # The published versions (bodies for the excerpts) are fetched for the page only: joined, a sort
    # on slots left would read every article's body before picking the 20 shown.
    qs = (
        article_catalog()
        .select_related(None)
        .prefetch_related(
            "published_version", Prefetch("categories", queryset=Category.objects.order_by("name"))
        )
    )
    if query.categories:
        links = Article.categories.through.objects.filter(
            article_id=OuterRef("pk"), category__slug__in=list(query.categories)
        )
        qs = qs.filter(Exists(links))
    if query.languages:
        qs = qs.filter(language__in=list(query.languages))
    if query.min_price is not None:
        qs = qs.filter(backlink_price__gte=query.min_price)
    if query.max_price is not None:
        qs = qs.filter(backlink_price__lte=query.max_price)
    if query.min_slots_left is not None:
        qs = qs.filter(slots_left__gte=query.min_slots_left)  # type: ignore[misc]  # an annotation
    if query.text:
        # Two subqueries rather than one OR across the join, so each can use its own index.
        qs = qs.filter(
            Q(pk__in=Article.objects.filter(title__icontains=query.text).values("pk"))
            | Q(
                published_version_id__in=ArticleVersion.objects.filter(
                    body_markdown__icontains=query.text
                ).values("pk")
            )
        )
    return qs.order_by(*CATALOG_SORTS[query.sort])


def _article_holds(
    *, article_id: int, now: datetime, exclude_order_id: UUID | None = None
) -> QuerySet[Article]:
    """The article (its pk only) with ``paid`` and ``unpaid`` annotated: its orders holding a slot at
    ``now`` (``_holds``), ``exclude_order_id`` not counted."""
    paid, unpaid = _holds("", now=now)
    if exclude_order_id is not None:
        paid, unpaid = paid & ~Q(pk=exclude_order_id), unpaid & ~Q(pk=exclude_order_id)
    return (
        Article.objects.filter(pk=article_id)
        .annotate(paid=_orders_holding(paid), unpaid=_orders_holding(unpaid))
        .only("pk")
    )


# Compiled once per connection: every paid webhook counts its article's slots (the order itself
# not counted), every checkout counts them too.
_SLOTS_HELD = CompiledRead(_article_holds, params={"article_id": int, "now": datetime})
_SLOTS_HELD_BY_OTHERS = CompiledRead(
    _article_holds, params={"article_id": int, "now": datetime, "exclude_order_id": UUID}
)


def article_slots_used(*, article_id: int, exclude_order_id: UUID | None = None) -> int:
    """Backlink slots of the article held by orders now: paid and alive, plus open checkouts up to
    the cap (``UNPAID_HOLDS_PER_ARTICLE``); 0 for an article that does not exist. One statement."""
    now = timezone.now()
    if exclude_order_id is None:
        counts = _SLOTS_HELD.get_or_none(article_id=article_id, now=now)
    else:
        counts = _SLOTS_HELD_BY_OTHERS.get_or_none(
            article_id=article_id, now=now, exclude_order_id=exclude_order_id
        )
    if counts is None:
        return 0
    paid, unpaid = int(counts.paid), int(counts.unpaid)  # type: ignore[attr-defined]  # annotations
    cap = settings.UNPAID_HOLDS_PER_ARTICLE
    return paid + (unpaid if cap is None else min(unpaid, cap))


def article_get_published(*, article_id: int | None = None, slug: str | None = None) -> Article | None:
    qs = article_catalog()
    if article_id is not None:
        qs = qs.filter(pk=article_id)
    if slug is not None:
        qs = qs.filter(slug=slug)
    return qs.first()


def article_get_unpublished(*, slug: str) -> Article | None:
    """The article at ``slug`` if staff took it off the site (``Article.is_unpublished``)."""
    return Article.objects.filter(slug=slug, unpublished_version__isnull=False).first()


# The sample link the shop window shows (the buy forms and the quote show the customer's own).
SAMPLE_ANCHOR = "your anchor text"
SAMPLE_URL = "https://www.example.com/your-page"


def sample_link_preview() -> str:
    """What a bought link looks like in an article (``<a href=… rel="sponsored">…</a>``), as HTML text."""
    return link_preview_html(
        anchor_text=SAMPLE_ANCHOR, target_url=SAMPLE_URL, rel=settings.SPONSORED_LINK_REL
    )
