"""Nightly audit of the published text against the orders' record of paid links.

Two directions: every live paid order's link (``paid_links.live_paid_orders``, the same record the
article guard keeps) is in its article's published version once, with its anchor and rel; and no
link in a published article carries a rel that no live paid order owns (a refunded order's link
still up, or a rel written around the services), since that text would look paid to readers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from articles.content import extract_links
from articles.models import Article
from articles.services import PaidLink, paid_looking_links
from purchases.services.emails import staff_notify
from purchases.services.paid_links import live_paid_orders, order_paid_link

logger = logging.getLogger(__name__)


@dataclass
class LinkAuditReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def paid_links_audit(*, notify: bool = True) -> LinkAuditReport:
    """Check the live paid orders and the published articles against each other; tell staff of problems.

    Read-only: it never edits an article (an editor restores a link; staff take a refunded one down).
    """
    report = LinkAuditReport()
    owned: dict[int, list[PaidLink]] = defaultdict(list)
    orders = live_paid_orders().select_related("article__published_version")
    for order in orders.iterator(chunk_size=200):
        report.checked += 1
        live = order.article.published_version if order.article else None
        if live is None:
            if order.article is None or not order.article.is_unpublished:  # unpublished by staff: recorded
                report.problems.append(f"order {order.id}: its article is no longer published")
            continue
        paid = order_paid_link(order)
        owned[live.article_id].append(paid)
        matches = [link for link in extract_links(live.body_markdown) if link.href == paid.href]
        if len(matches) != 1:
            report.problems.append(
                f"order {order.id}: {len(matches)} links to {order.target_url} in “{live.title}” (expected 1)"
            )
        elif not paid.matches(matches[0]):
            report.problems.append(
                f"order {order.id}: link to {order.target_url} reads “{matches[0].text}” rel=“{matches[0].rel}”, "
                f"expected “{paid.text}” rel=“{paid.rel}”"
            )
    articles = Article.objects.filter(published_version__isnull=False).select_related("published_version")
    for article in articles.iterator(chunk_size=200):
        live = article.published_version
        assert live is not None
        for link in paid_looking_links(body=live.body_markdown, paid=owned[article.pk]):
            report.problems.append(
                f"“{live.title}”: the link [{link.text}]({link.href}) carries rel=“{link.rel}” but no published "
                "order owns it (take a refunded order's link down from its order page)"
            )
    logger.info("paid link audit", extra={"checked": report.checked, "problems": len(report.problems)})
    if report.problems and notify:
        staff_notify(
            subject=f"{len(report.problems)} paid link(s) need attention",
            message="\n".join(report.problems),
        )
    return report
