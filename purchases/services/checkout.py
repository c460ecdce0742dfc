"""Checkout: a PENDING_PAYMENT order (a backlink holds an article slot) and its Stripe Checkout Session.

An unpaid checkout costs the customer nothing, so what it may hold is capped (README "Limits"):
open checkouts per customer address and per client (``OPEN_CHECKOUTS_PER_EMAIL`` / ``_PER_CLIENT``),
and how many of an article's slots unpaid checkouts take between them (``UNPAID_HOLDS_PER_ARTICLE``,
counted in ``purchases.catalog.selectors``). A hold lasts until the checkout expires.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from articles.drafting.article import DEFAULT_WORD_COUNT
from articles.models import Article
from purchases.catalog.selectors import article_slots_used
from purchases.errors import (
    ArticleUnavailable,
    InvalidField,
    PaymentProviderError,
    SoldOut,
    TooManyOpenCheckouts,
)
from purchases.gateways import PaymentGatewayUnavailable, payment_gateway
from purchases.models import Order, open_checkout_q
from purchases.tokens import make_order_token, new_token_salt

logger = logging.getLogger(__name__)


def _lock(key: str) -> None:
    """A lock on ``key`` until the transaction ends, so two checkouts cannot both pass a cap.

    PostgreSQL's advisory lock; SQLite (local development) runs one writing transaction at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _open_checkouts_check(*, customer_email: str, client_ip: str | None) -> None:
    """Refuse one more unpaid checkout past the cap per customer address or per client.

    Runs in the creating transaction and takes its locks in a fixed order (client, address, then
    the article row), so concurrent checkouts wait for each other and never deadlock.
    """
    now = timezone.now()
    caps = [
        ("connection", settings.OPEN_CHECKOUTS_PER_CLIENT, client_ip, Q(client_ip=client_ip)),
        (
            "email address",
            settings.OPEN_CHECKOUTS_PER_EMAIL,
            customer_email.lower(),
            Q(customer_email__iexact=customer_email),
        ),
    ]
    for who, cap, key, same in caps:
        if cap is None or not key:
            continue
        _lock(f"open-checkouts:{who}:{key}")
        open_ones = Order.objects.filter(open_checkout_q(now=now), same)
        if open_ones.count() >= cap:
            first_expiry = min(o for o in open_ones.values_list("checkout_expires_at", flat=True) if o)
            minutes = max(1, -(-int((first_expiry - now).total_seconds()) // 60))
            raise TooManyOpenCheckouts(
                f"This {who} already has {cap} unpaid checkouts open. Pay one, or try again in "
                f"{minutes} minutes, when the first of them expires."
            )


def order_needs_approval(*, article: Article | None) -> bool:
    """Whether a new order waits, once paid, for staff to accept its target (``AWAITING_APPROVAL``).

    Recorded on the order at checkout, so a later change of the switches does not move orders
    already paid. A backlink order follows its article's ``needs_approval``; an article order has no
    article yet and follows ``ARTICLE_ORDERS_NEED_APPROVAL``. The one place that decides: a further
    reason to wait (a niche's switch) is OR-ed in here.
    """
    if article is not None:
        return article.needs_approval
    return bool(settings.ARTICLE_ORDERS_NEED_APPROVAL)


@transaction.atomic
def _order_reserve(
    *,
    article_id: int,
    target_url: str,
    anchor_text: str,
    customer_notes: str,
    customer_email: str,
    client_ip: str | None,
) -> Order:
    """Create the unpaid order under a lock on the article row, so two checkouts cannot oversell it."""
    _open_checkouts_check(customer_email=customer_email, client_ip=client_ip)
    article = Article.objects.select_for_update().filter(pk=article_id).first()
    if article is None:
        raise InvalidField("Invalid input: articleId.", fields={"articleId": ["No article with this id."]})
    if not article.is_published:
        raise ArticleUnavailable(
            f"“{article.title}” is not published, so it cannot carry a backlink.",
            fields={"articleId": ["This article is not published."]},
        )
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
        client_ip=client_ip,
        token_salt=new_token_salt(),
        needs_approval=order_needs_approval(article=article),
    )


def order_checkout_create(
    *,
    article_id: int,
    target_url: str,
    anchor_text: str,
    customer_email: str,
    customer_notes: str = "",
    client_ip: str | None = None,
) -> tuple[Order, str]:
    """Reserve a slot and open a Checkout Session. Returns the order and its access token.

    Past a cap on open checkouts (this address, this ``client_ip``) nothing is written and
    ``TooManyOpenCheckouts`` is raised.

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
        client_ip=client_ip,
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
    client_ip: str | None = None,
) -> tuple[Order, str]:
    """A new-article order at ``ARTICLE_ORDER_PRICE`` and its Checkout Session; returns it and its token.

    No article slot is involved: the article is written after payment. It counts towards the open
    checkouts of its address and client as a backlink order does. Stripe failures are handled as
    for backlink orders (``PaymentProviderError``, nothing left open).
    """
    with transaction.atomic():
        _open_checkouts_check(customer_email=customer_email, client_ip=client_ip)
        order = _article_order_create(
            topic=topic,
            keywords=keywords,
            target_url=target_url,
            anchor_text=anchor_text,
            customer_email=customer_email,
            customer_notes=customer_notes,
            word_count=word_count,
            client_ip=client_ip,
        )
    return _checkout_open(order=order, product_name=f"Sponsored article: “{order.topic}”")


def _article_order_create(
    *,
    topic: str,
    keywords: list[str],
    target_url: str,
    anchor_text: str,
    customer_email: str,
    customer_notes: str,
    word_count: int,
    client_ip: str | None,
) -> Order:
    return Order.objects.create(
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
        client_ip=client_ip,
        token_salt=new_token_salt(),
        needs_approval=order_needs_approval(article=None),
    )


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
