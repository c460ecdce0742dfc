"""Nightly audit: every paid, published link is still live in its article, once, with the right rel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings

from articles.content import extract_links, normalize_href
from purchases.models import Order, OrderStatus
from purchases.services.emails import staff_notify

logger = logging.getLogger(__name__)


@dataclass
class LinkAuditReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def paid_links_audit(*, notify: bool = True) -> LinkAuditReport:
    """Check each PUBLISHED backlink order against its article's published version; tell staff of problems.

    Read-only: it never edits an article (an editor decides how to restore a link).
    """
    report = LinkAuditReport()
    orders = Order.objects.filter(status=OrderStatus.PUBLISHED, kind=Order.Kind.BACKLINK).select_related(
        "article__published_version", "current_version"
    )
    for order in orders.iterator(chunk_size=200):
        report.checked += 1
        live = order.article.published_version if order.article else None
        if live is None:
            report.problems.append(f"order {order.id}: its article is no longer published")
            continue
        expected_rel = str(
            (order.current_version.backlink_metadata if order.current_version else {}).get("rel")
            or settings.SPONSORED_LINK_REL
        )
        target = normalize_href(order.target_url)
        matches = [link for link in extract_links(live.body_markdown) if link.href == target]
        if len(matches) != 1:
            report.problems.append(
                f"order {order.id}: {len(matches)} links to {order.target_url} in “{live.title}” (expected 1)"
            )
        elif matches[0].text != order.anchor_text or expected_rel not in matches[0].rel.split():
            report.problems.append(
                f"order {order.id}: link to {order.target_url} reads “{matches[0].text}” rel=“{matches[0].rel}”, "
                f"expected “{order.anchor_text}” rel=“{expected_rel}”"
            )
    logger.info("paid link audit", extra={"checked": report.checked, "problems": len(report.problems)})
    if report.problems and notify:
        staff_notify(
            subject=f"{len(report.problems)} paid link(s) need attention",
            message="\n".join(report.problems),
        )
    return report
