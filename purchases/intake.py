"""Turning a checkout request (API body or HTML form) into an order: validate, then call the service.

One place for the ``orderType`` dispatch, so the API and the site's order forms accept exactly
the same input and answer with the same field errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from purchases.models import Order
from purchases.serializers import ArticleCheckoutInSerializer, CheckoutInSerializer, CheckoutTypeSerializer
from purchases.services.checkout import order_article_checkout_create, order_checkout_create


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
        )
    backlink_data = _validated(CheckoutInSerializer(data=data))
    return order_checkout_create(
        article_id=backlink_data["articleId"],
        target_url=backlink_data["targetUrl"],
        anchor_text=backlink_data["anchorText"],
        customer_notes=backlink_data["customerNotes"],
        customer_email=backlink_data["customerEmail"],
        client_ip=client_ip,
    )
