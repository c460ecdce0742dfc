"""Reads for the shop window: published articles with their price and how many backlink slots are left.

Slots are order knowledge (which orders hold one), so the catalog lives with orders; the
``articles`` app knows only content.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.db.models import Count, Expression, F, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from articles.content import link_preview_html
from articles.models import Article
from purchases.models import Order, open_checkout_q, paid_slot_q


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


def _holds(prefix: str) -> tuple[Q, Q]:
    """The backlink orders holding a slot: (paid and alive, unpaid with an open checkout)."""
    backlink = Q(**{f"{prefix}kind": Order.Kind.BACKLINK})
    return backlink & paid_slot_q(prefix=prefix), backlink & open_checkout_q(
        now=timezone.now(), prefix=prefix
    )


def article_catalog(*, only_published: bool = True) -> QuerySet[Article]:
    """Articles with ``slots_left`` annotated (0 when sold out), newest first."""
    paid, unpaid = _holds("orders__")
    qs = (
        Article.objects.select_related("published_version")
        .annotate(
            paid_slots=Count("orders", filter=paid),
            unpaid_holds=Count("orders", filter=unpaid),
        )
        .annotate(slots_used=F("paid_slots") + _unpaid_holds_counted(F("unpaid_holds")))
        .annotate(
            slots_left=Greatest(F("max_backlinks") - F("slots_used"), Value(0), output_field=IntegerField())
        )
    )
    if only_published:
        qs = qs.filter(published_version__isnull=False)
    return qs.order_by("-created_at", "-id")


def article_slots_used(*, article_id: int, exclude_order_id: UUID | None = None) -> int:
    """Backlink slots of the article held by orders now: paid and alive, plus open checkouts up to the cap."""
    paid, unpaid = _holds("")
    qs = Order.objects.filter(article_id=article_id)
    if exclude_order_id is not None:
        qs = qs.exclude(pk=exclude_order_id)
    counts = qs.aggregate(paid=Count("pk", filter=paid), unpaid=Count("pk", filter=unpaid))
    cap = settings.UNPAID_HOLDS_PER_ARTICLE
    unpaid_held = counts["unpaid"] if cap is None else min(counts["unpaid"], cap)
    return int(counts["paid"]) + int(unpaid_held)


def article_get_published(*, article_id: int | None = None, slug: str | None = None) -> Article | None:
    qs = article_catalog()
    if article_id is not None:
        qs = qs.filter(pk=article_id)
    if slug is not None:
        qs = qs.filter(slug=slug)
    return qs.first()


# The sample link the shop window shows (the buy forms and the quote show the customer's own).
SAMPLE_ANCHOR = "your anchor text"
SAMPLE_URL = "https://www.example.com/your-page"


def sample_link_preview() -> str:
    """What a bought link looks like in an article (``<a href=… rel="sponsored">…</a>``), as HTML text."""
    return link_preview_html(
        anchor_text=SAMPLE_ANCHOR, target_url=SAMPLE_URL, rel=settings.SPONSORED_LINK_REL
    )
