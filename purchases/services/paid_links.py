"""Which links are paid, from the orders' record.

The article guard (``articles.services.version_publish`` and the article form) keeps exactly the
links this module names: those of live paid orders, i.e. PUBLISHED orders of either kind (a full
refund moves an order to REFUNDED, so its link is no longer kept). ``articles`` cannot import
orders, so ``PurchasesConfig.ready`` registers ``article_paid_links`` with it at start-up.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from articles.content import normalize_href
from articles.services import PaidLink
from purchases.models import Order, OrderStatus


def order_paid_link(order: Order) -> PaidLink:
    """The link ``order`` bought: its target, its anchor, and the rel its draft was written with."""
    meta = order.current_version.backlink_metadata if order.current_version else {}
    return PaidLink(
        href=normalize_href(order.target_url),
        text=order.anchor_text,
        rel=str(meta.get("rel") or settings.SPONSORED_LINK_REL),
    )


def live_paid_orders() -> QuerySet[Order]:
    """Orders whose link is paid and must stay live: PUBLISHED, of either kind (refunded ones are not)."""
    return Order.objects.filter(status=OrderStatus.PUBLISHED).select_related("current_version")


def article_paid_links(article_id: int) -> list[PaidLink]:
    """The links of ``article_id`` that live paid orders own: the provider the article guard asks."""
    return [order_paid_link(order) for order in live_paid_orders().filter(article_id=article_id)]
