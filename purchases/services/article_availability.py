"""Taking an article off the site and publishing it back, with what that means for its orders.

``articles.services`` changes the article (``article_unpublish``, ``article_republish``: who, why,
which version); this module, above it, tells the orders, in the same transaction:

- every order with a stake in the article gets a timeline entry (an ``OrderTransition`` that moves
  no status, ``source="article"``, with the actor and the reason), shown in the admin's timeline
  and on the customer's order page: paid orders still alive (being written, waiting for the
  customer or the editors, published) and any order whose link is in the published text;
- the customers whose link was live (a live paid order, its link in the text) are emailed once per
  event (``EmailRecord`` key ``article-event-<id>``), and emailed again when it is published back.

Orders in progress are kept as they are: their slot stays theirs, approving one is refused while
the article is unpublished (``Publish.blocked``), and so are a regeneration and a retry (a run
needs a published text to write on); they carry on once the article is back. No new checkout can
be opened (``ArticleUnavailable``). A run that starts while the article is off the site (an order
paid through a checkout opened before, or queued just before) fails as "The article is no longer
published" (``BacklinkOrderDraft.plan``) and the failure's refund policy applies.

Lock order as everywhere: the orders' rows, then the article's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from articles.models import Article, ArticleEvent
from articles.services import ArticleNotPublished, article_republish, article_unpublish
from purchases.actions.staff import order_links_in
from purchases.models import EmailKind, Order, OrderTransition, paid_slot_q
from purchases.services.emails import order_email_queue
from purchases.services.paid_links import live_paid_orders

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AvailabilityResult:
    event: ArticleEvent
    orders_noted: int
    customers_emailed: int

    @property
    def message(self) -> str:
        done = "unpublished" if self.event.kind == ArticleEvent.Kind.UNPUBLISHED else "published back"
        return (
            f"“{self.event.article.title}” {done}: {self.orders_noted} order timeline(s) noted, "
            f"{self.customers_emailed} customer(s) with a live link emailed."
        )


def orders_to_tell(*, article: Article, body: str, lock: bool = False) -> tuple[list[Order], set[Any]]:
    """The article's paid orders to note (still alive, ``paid_slot_q``, or with their link in ``body``),
    and the ids of those whose customer is emailed (a live paid order whose link is in ``body``).

    ``lock``: take the orders' row locks (the services; the admin's confirmation page only reads).
    """
    paid = Order.objects.filter(article_id=article.pk, paid_at__isnull=False)
    rows = paid.select_for_update(of=("self",)) if lock else paid
    orders = list(rows.order_by("pk"))
    alive = set(paid.filter(paid_slot_q()).values_list("pk", flat=True))
    live = live_paid_orders().filter(article_id=article.pk)
    emailed = {order.pk for order in live if order_links_in(body, order)}
    return [order for order in orders if order.pk in alive or order_links_in(body, order)], emailed


def _tell_orders(
    *, event: ArticleEvent, orders: list[Order], emailed: set[Any], kind: str, summary: str
) -> AvailabilityResult:
    for order in orders:
        OrderTransition.objects.create(
            order=order,
            from_status=order.status,
            to_status=order.status,
            source=OrderTransition.ARTICLE_SOURCE,
            actor=event.actor,
            reason=f"{summary}. Reason: {event.reason}",
        )
        if order.pk in emailed:
            order_email_queue(order=order, kind=kind, key=f"article-event-{event.pk}", note=event.reason)
    logger.info(
        "article availability changed",
        extra={
            "article_id": event.article_id,
            "event": event.kind,
            "orders": len(orders),
            "emailed": len(emailed),
        },
    )
    return AvailabilityResult(event, len(orders), len(emailed))


def article_withdraw(*, article_id: int, actor: Any, reason: str) -> AvailabilityResult:
    """Unpublish the article (``articles.services.article_unpublish``) and tell its orders, in one transaction.

    Refused, changing nothing: without ``articles.publish_article`` (403), without a reason (400,
    field ``reason``), an article not on the site (409).
    """
    with transaction.atomic():
        article = Article.objects.select_related("published_version").get(pk=article_id)
        live = article.published_version
        if live is None:
            raise ArticleNotPublished(f"“{article.title}” is not published.")
        orders, emailed = orders_to_tell(article=article, body=live.body_markdown, lock=True)
        event = article_unpublish(article_id=article_id, actor=actor, reason=reason)
        return _tell_orders(
            event=event,
            orders=orders,
            emailed=emailed,
            kind=EmailKind.ARTICLE_UNPUBLISHED,
            summary=f"“{article.title}” was taken off the site (version {live.number}), so links in it are offline",
        )


def article_reinstate(*, article_id: int, actor: Any, reason: str) -> AvailabilityResult:
    """Publish the article back (``articles.services.article_republish``) and tell its orders, in one transaction."""
    with transaction.atomic():
        article = Article.objects.select_related("unpublished_version").get(pk=article_id)
        version = article.unpublished_version
        if version is None:
            raise ArticleNotPublished(
                f"“{article.title}” was not unpublished, so there is nothing to publish back."
            )
        orders, emailed = orders_to_tell(article=article, body=version.body_markdown, lock=True)
        event = article_republish(article_id=article_id, actor=actor, reason=reason)
        return _tell_orders(
            event=event,
            orders=orders,
            emailed=emailed,
            kind=EmailKind.ARTICLE_REPUBLISHED,
            summary=f"“{article.title}” is published again (version {version.number}), so links in it are live again",
        )
