"""Which links are paid, from the orders' record; and taking down the link of a refunded order.

The article guard (``articles.services.version_publish`` and the article form) keeps exactly the
links this module names: those of live paid orders, i.e. PUBLISHED orders of either kind (a full
refund moves an order to REFUNDED, so its link is no longer kept). ``articles`` cannot import
orders, so ``PurchasesConfig.ready`` registers ``article_paid_links`` with it at start-up.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from articles.content import normalize_href
from articles.models import Article, ArticleVersion
from articles.services import PaidLink, version_create, version_publish
from purchases.actions import TAKE_DOWN_LINK
from purchases.actions.staff import order_links_in
from purchases.errors import ActionNotAllowed, ApplicationError
from purchases.models import DISPUTE_KEPT_STATUSES, Order, OrderStatus
from purchases.services.orders import order_event_record, order_lock

logger = logging.getLogger(__name__)


def order_paid_link(order: Order) -> PaidLink:
    """The link ``order`` bought: its target, its anchor, and the rel its draft was written with."""
    meta = order.current_version.backlink_metadata if order.current_version else {}
    return PaidLink(
        href=normalize_href(order.target_url),
        text=order.anchor_text,
        rel=str(meta.get("rel") or settings.SPONSORED_LINK_REL),
    )


def live_paid_orders() -> QuerySet[Order]:
    """Orders whose link is paid and must stay live: PUBLISHED, of either kind (refunded ones are not),
    without a chargeback open or lost (``Order.link_at_risk``: staff may take that link down)."""
    at_risk = Q(dispute_id__gt="") & ~Q(dispute_status__in=DISPUTE_KEPT_STATUSES)
    return (
        Order.objects.filter(status=OrderStatus.PUBLISHED).exclude(at_risk).select_related("current_version")
    )


def article_paid_links(article_id: int) -> list[PaidLink]:
    """The links of ``article_id`` that live paid orders own: the provider the article guard asks."""
    return [order_paid_link(order) for order in live_paid_orders().filter(article_id=article_id)]


def _without_one_link(body: str, order: Order) -> str:
    """``body`` with one of ``order``'s links turned into its plain anchor text (the server's form,
    ``[anchor](<url>){rel=…}``, or the same without the angle brackets or attributes)."""
    url = re.escape(order.target_url)
    pattern = re.compile(rf"\[{re.escape(order.anchor_text)}\]\((?:<{url}>|{url})\)(?:\{{[^{{}}\n]*\}})?")
    return pattern.sub(lambda match: order.anchor_text, body, count=1)


@TAKE_DOWN_LINK.effect
def order_link_take_down(*, order_id: UUID | str, actor: Any, reason: str) -> ArticleVersion:
    """Publish a new version of the refunded order's article without its link; record who and why.

    One transaction, order row then article row locked (as publishing does). The link becomes its
    plain anchor text; every other paragraph and link is unchanged, and ``version_publish`` still
    refuses to drop any link a live paid order owns. The order stays REFUNDED: the take-down is
    kept in its history (a REFUNDED → REFUNDED record with the actor and reason) and on the new
    version (``backlink_metadata.taken_down_order_id``/``reason``, ``published_by``). The customer
    is not emailed (they were told of the refund). Refused (409) when the link is not live, and
    when it was edited into a form this cannot remove exactly (an editor removes it by hand).
    """
    TAKE_DOWN_LINK.check_permission(actor)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            "A reason is required to take a link down.", fields={"reason": ["This field is required."]}
        )
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        TAKE_DOWN_LINK.check(order, actor)
        # The guard found the link in the published text of the order's article.
        assert order.article_id is not None
        article = (
            Article.objects.select_for_update(of=("self",))
            .select_related("published_version")
            .get(pk=order.article_id)
        )
        live = article.published_version
        assert live is not None
        body = _without_one_link(live.body_markdown, order)
        if order_links_in(body, order) != order_links_in(live.body_markdown, order) - 1:
            raise ActionNotAllowed(
                "The link was edited into a form that cannot be removed exactly; remove it in the article's admin."
            )
        version = version_create(
            article=article,
            title=live.title,
            body_markdown=body,
            kind=ArticleVersion.Kind.EDIT,
            base_version=live,
            backlink_metadata={"taken_down_order_id": str(order.id), "reason": reason},
            created_by=actor,
            reason=f"link of order {str(order.id)[:8]} taken down: {reason}",
        )
        version_publish(version=version, actor=actor)
        order_event_record(
            order=order,
            source="staff",
            actor=actor,
            reason=f"link taken down from “{article.title}” (version {version.number} published): {reason}",
        )
    logger.info(
        "paid link taken down",
        extra={"order_id": str(order.id), "article_id": article.pk, "version": version.number},
    )
    return version
