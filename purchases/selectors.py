"""Reads on orders."""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from articles.content import plain_text, render_html, split_paragraphs
from articles.models import ArticleVersion
from purchases.errors import OrderNotFound
from purchases.models import Order, OrderStatus
from purchases.tokens import check_order_token
from queueing.models import JobAttempt

CUSTOMER_ACTIONS: dict[str, list[str]] = {
    OrderStatus.PENDING_PAYMENT: ["pay"],
    OrderStatus.PROCESSING: [],
    OrderStatus.QUALITY_CHECK: ["regenerate", "submit_for_review"],
    OrderStatus.ADMIN_REVIEW: [],
    OrderStatus.PUBLISHED: ["view_article"],
    OrderStatus.FAILED: [],
    OrderStatus.REFUNDED: [],
}


def order_get_for_customer(*, order_id: object, token: str | None) -> Order:
    """The order if ``token`` is its access token. Unknown order and wrong token look the same: 404."""
    try:
        pk = uuid.UUID(str(order_id))
    except ValueError as exc:
        raise OrderNotFound("Order not found.") from exc
    order = Order.objects.select_related("article", "current_version").filter(pk=pk).first()
    if order is None or not check_order_token(order_id=order.id, token_salt=order.token_salt, token=token):
        raise OrderNotFound("Order not found.")
    return order


def order_preview(order: Order, *, limit: int = 500) -> str:
    version = order.current_version
    return plain_text(version.body_markdown, limit=limit) if version else ""


def order_customer_actions(order: Order) -> list[str]:
    return list(CUSTOMER_ACTIONS[order.status])


def order_versions(order: Order) -> QuerySet[ArticleVersion]:
    """The order's drafts, newest first."""
    return ArticleVersion.objects.filter(order=order).order_by("-created_at", "-id")


def version_preview(version: ArticleVersion, *, limit: int = 300) -> str:
    """The customer's paragraph for a backlink draft; the opening of the text otherwise."""
    paragraph = version.backlink_metadata.get("paragraph")
    return (
        plain_text(str(paragraph), limit=limit)
        if paragraph
        else plain_text(version.body_markdown, limit=limit)
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # status | stripe | job | email
    summary: str
    detail: str = ""


def order_timeline(order: Order) -> list[TimelineEntry]:
    """Everything that happened to an order, oldest first: status moves, Stripe events, job attempts, emails."""
    entries = [
        TimelineEntry(
            t.created_at, "status", f"{t.from_status} → {t.to_status} by {t.actor or t.source}", t.reason
        )
        for t in order.transitions.select_related("actor")
    ]
    entries += [
        TimelineEntry(e.received_at, "stripe", f"{e.type} ({e.event_id})", e.outcome)
        for e in order.stripe_events.all()
    ]
    entries += [
        TimelineEntry(
            a.started_at,
            "job",
            f"{a.request.job_id} [{a.request.purpose}] attempt by {a.worker or 'worker'}: {a.outcome or 'running'}",
            a.error,
        )
        for a in JobAttempt.objects.filter(request__order=order).select_related("request")
    ]
    entries += [
        TimelineEntry(
            m.created_at,
            "email",
            f"{m.get_kind_display()} to {m.to}: {'sent ' + m.sent_at.isoformat(timespec='seconds') if m.sent_at else 'NOT SENT'}",
            m.error or m.note,
        )
        for m in order.emails.all()
    ]
    return sorted(entries, key=lambda e: e.at)


@dataclass(frozen=True)
class DiffRow:
    tag: str  # equal | replace | insert | delete
    base_html: str
    proposal_html: str


def version_diff(base_body: str, proposal_body: str, *, context: int = 1) -> list[DiffRow]:
    """Paragraph-level diff of two bodies, with ``context`` unchanged paragraphs around each change."""
    base, proposal = split_paragraphs(base_body), split_paragraphs(proposal_body)
    rows: list[DiffRow] = []
    for group in difflib.SequenceMatcher(a=base, b=proposal, autojunk=False).get_grouped_opcodes(context):
        for tag, i1, i2, j1, j2 in group:
            left = "".join(render_html(p) for p in base[i1:i2])
            right = "".join(render_html(p) for p in proposal[j1:j2])
            rows.append(DiffRow(tag, left, right))
    return rows


def order_usage(order: Order) -> dict[str, object]:
    """Tokens and estimated LLM cost over all of the order's versions."""
    totals = ArticleVersion.objects.filter(order=order).aggregate(
        prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"),
        cost=Sum("estimated_cost_usd"),
        n=Count("id"),
    )
    return {
        "prompt_tokens": totals["prompt"] or 0,
        "completion_tokens": totals["completion"] or 0,
        "estimated_cost_usd": totals["cost"] or Decimal("0"),
        "versions": totals["n"],
    }
