"""Checkout: a PENDING_PAYMENT order (a backlink holds an article slot) and its Stripe Checkout Session."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from articles.drafting.article import DEFAULT_WORD_COUNT
from articles.models import Article
from purchases.catalog.selectors import article_slots_used
from purchases.errors import ArticleUnavailable, InvalidField, PaymentProviderError, SoldOut
from purchases.gateways import PaymentGatewayUnavailable, payment_gateway
from purchases.models import Order
from purchases.tokens import make_order_token, new_token_salt

logger = logging.getLogger(__name__)


@transaction.atomic
def _order_reserve(
    *, article_id: int, target_url: str, anchor_text: str, customer_notes: str, customer_email: str
) -> Order:
    """Create the unpaid order under a lock on the article row, so two checkouts cannot oversell it."""
    article = Article.objects.select_for_update().filter(pk=article_id).first()
    if article is None:
        raise InvalidField("Invalid input: articleId.", fields={"articleId": ["No article with this id."]})
    if not article.is_published:
        raise ArticleUnavailable("This article is not published, so it cannot carry a backlink.")
    if article_slots_used(article_id=article.pk) >= article.max_backlinks:
        raise SoldOut("This article has no backlink slots left.")
    return Order.objects.create(
        kind=Order.Kind.BACKLINK,
        article=article,
        customer_email=customer_email,
        target_url=target_url,
        anchor_text=anchor_text,
        customer_notes=customer_notes,
        amount=article.backlink_price,
        currency=article.currency,
        checkout_expires_at=timezone.now() + timedelta(minutes=settings.CHECKOUT_EXPIRY_MINUTES),
        token_salt=new_token_salt(),
    )


def order_checkout_create(
    *, article_id: int, target_url: str, anchor_text: str, customer_email: str, customer_notes: str = ""
) -> tuple[Order, str]:
    """Reserve a slot and open a Checkout Session. Returns the order and its access token.

    The Stripe call runs outside the reserving transaction (no row lock is held across the
    network); its idempotency key is the order id. If Stripe fails, the reservation is released
    at once and ``PaymentProviderError`` is raised.
    """
    order = _order_reserve(
        article_id=article_id,
        target_url=target_url,
        anchor_text=anchor_text,
        customer_notes=customer_notes,
        customer_email=customer_email,
    )
    return _checkout_open(order=order, product_name=f"Backlink in “{order.display_title}”")


def order_article_checkout_create(
    *,
    topic: str,
    keywords: list[str],
    target_url: str,
    anchor_text: str,
    customer_email: str,
    customer_notes: str = "",
    word_count: int = DEFAULT_WORD_COUNT,
) -> tuple[Order, str]:
    """A new-article order at ``ARTICLE_ORDER_PRICE`` and its Checkout Session; returns it and its token.

    No article slot is involved: the article is written after payment. Stripe failures are
    handled as for backlink orders (``PaymentProviderError``, nothing left open).
    """
    order = Order.objects.create(
        kind=Order.Kind.ARTICLE,
        customer_email=customer_email,
        target_url=target_url,
        anchor_text=anchor_text,
        customer_notes=customer_notes,
        topic=topic,
        keywords=list(keywords),
        word_count=word_count,
        amount=settings.ARTICLE_ORDER_PRICE,
        currency=settings.ARTICLE_ORDER_CURRENCY,
        checkout_expires_at=timezone.now() + timedelta(minutes=settings.CHECKOUT_EXPIRY_MINUTES),
        token_salt=new_token_salt(),
    )
    return _checkout_open(order=order, product_name=f"Sponsored article: “{order.topic}”")


def _checkout_open(*, order: Order, product_name: str) -> tuple[Order, str]:
    """Open the order's Checkout Session through the payment gateway; return the order and its token.

    If Stripe fails, the order's checkout expires at once (so a backlink's slot is released),
    the reason is kept, and ``PaymentProviderError`` is raised.
    """
    token = make_order_token(order_id=order.id, token_salt=order.token_salt)
    order_page = settings.SITE_URL + reverse("purchases:order-page", kwargs={"order_id": order.id})
    try:
        session = payment_gateway().checkout_session_create(
            order_id=str(order.id),
            product_name=product_name,
            amount_minor=order.amount_minor,
            currency=order.currency,
            customer_email=order.customer_email,
            success_url=f"{order_page}?token={token}&paid=1",
            cancel_url=f"{order_page}?token={token}&cancelled=1",
            expires_at=order.checkout_expires_at or timezone.now(),
        )
    except PaymentGatewayUnavailable as exc:
        order.checkout_expires_at = timezone.now()
        order.failure_reason = f"Checkout could not be opened: {exc}"
        order.save(update_fields=["checkout_expires_at", "failure_reason", "updated_at"])
        raise PaymentProviderError(
            "The payment provider is unavailable; please try again in a minute."
        ) from exc
    order.stripe_checkout_session_id = session.id
    order.checkout_url = session.url
    order.save(update_fields=["stripe_checkout_session_id", "checkout_url", "updated_at"])
    logger.info(
        "checkout opened", extra={"order_id": str(order.id), "kind": order.kind, "session_id": session.id}
    )
    return order, token
