"""Reads on orders."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TypedDict

from django.db.models import QuerySet, Sum

from articles.content import plain_text
from articles.models import ArticleVersion
from purchases.errors import OrderNotFound
from purchases.models import Order, OrderStatus
from purchases.tokens import check_order_token

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
    return ArticleVersion.objects.filter(order=order).order_by("-run", "-id")


class LLMUsage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    estimated_cost_usd: Decimal


def order_llm_usage(order: Order) -> LLMUsage:
    """Tokens and estimated USD cost over every version the order's jobs stored (one query).

    Runs that failed their quality checks store no version, so their tokens are only in the logs.
    """
    totals = ArticleVersion.objects.filter(order=order).aggregate(
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        estimated_cost_usd=Sum("estimated_cost_usd"),
    )
    return {
        "prompt_tokens": totals["prompt_tokens"] or 0,
        "completion_tokens": totals["completion_tokens"] or 0,
        "estimated_cost_usd": totals["estimated_cost_usd"] or Decimal("0"),
    }
