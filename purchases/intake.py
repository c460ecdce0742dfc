"""Turning a checkout request (API body or HTML form) into an order: validate, then call the service.

One place for the ``orderType`` dispatch, so the API and the site's order forms accept exactly
the same input and answer with the same field errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework import serializers

from articles.content import link_preview_html
from articles.models import Article
from policy.selectors import PolicyDecision
from purchases.catalog.selectors import SAMPLE_ANCHOR, SAMPLE_URL
from purchases.models import Order
from purchases.serializers import (
    ArticleCheckoutInSerializer,
    ArticleQuoteInSerializer,
    BacklinkQuoteInSerializer,
    CheckoutInSerializer,
    CheckoutTypeSerializer,
)
from purchases.services.checkout import checkout_quote, order_article_checkout_create, order_checkout_create

# What the link preview shows while the customer has not typed an anchor text (or URL) yet.
PREVIEW_ANCHOR, PREVIEW_URL = SAMPLE_ANCHOR, SAMPLE_URL


@dataclass(frozen=True)
class Quote:
    """A quote's answer: the policy's decision (refused, or the price) and what the link will look like."""

    decision: PolicyDecision
    slots_left: int | None
    link_preview: str


def _validated(serializer: serializers.Serializer) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def checkout_submit(data: Mapping[str, Any] | list[Any], *, client_ip: str | None) -> tuple[Order, str]:
    """Validate ``data`` (camelCase keys; anything but an object is a 400) and open the checkout.

    ``client_ip`` (``blogorder.throttling.client_ip``) is kept on the order: open checkouts are capped per client.

    Raises ValidationError or ApplicationError.
    """
    kind = _validated(CheckoutTypeSerializer(data=data))
    if kind["orderType"] == Order.Kind.ARTICLE:
        article_data = _validated(ArticleCheckoutInSerializer(data=data))
        return order_article_checkout_create(
            topic=article_data["topic"],
            keywords=article_data["keywords"],
            word_count=article_data["wordCount"],
            target_url=article_data["targetUrl"],
            anchor_text=article_data["anchorText"],
            customer_notes=article_data["customerNotes"],
            customer_email=article_data["customerEmail"],
            client_ip=client_ip,
            accepted_total=article_data["acceptedTotal"],
        )
    backlink_data = _validated(CheckoutInSerializer(data=data))
    return order_checkout_create(
        article_id=backlink_data["articleId"],
        target_url=backlink_data["targetUrl"],
        anchor_text=backlink_data["anchorText"],
        customer_notes=backlink_data["customerNotes"],
        customer_email=backlink_data["customerEmail"],
        client_ip=client_ip,
        accepted_total=backlink_data["acceptedTotal"],
    )


def quote_submit(data: Mapping[str, Any] | list[Any]) -> Quote:
    """Validate ``data`` as a checkout body (the anchor text, topic and address may be empty) and
    quote it: the price or the refusal, and the link's preview. Writes nothing, calls no one.

    Raises ValidationError or ApplicationError (an unknown or unpublished article).
    """
    kind = _validated(CheckoutTypeSerializer(data=data))["orderType"]
    serializer = ArticleQuoteInSerializer if kind == Order.Kind.ARTICLE else BacklinkQuoteInSerializer
    values = _validated(serializer(data=data))
    decision, article = checkout_quote(
        kind="article" if kind == Order.Kind.ARTICLE else "backlink",
        article_id=values.get("articleId"),
        target_url=values["targetUrl"],
        anchor_text=values["anchorText"],
        customer_notes=values["customerNotes"],
        topic=values.get("topic", ""),
        keywords=values.get("keywords", []),
    )
    preview = link_preview_html(
        anchor_text=values["anchorText"] or PREVIEW_ANCHOR,
        target_url=values["targetUrl"],
        rel=settings.SPONSORED_LINK_REL,
    )
    return Quote(decision=decision, slots_left=_slots_left(article), link_preview=preview)


def _slots_left(article: Article | None) -> int | None:
    return None if article is None else int(getattr(article, "slots_left", 0))
