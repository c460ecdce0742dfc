"""Order access tokens: an HMAC (Django signing, SECRET_KEY) over the order id and a per-order salt.

Nothing secret is stored: the database holds only the salt, so a leaked row cannot be turned
into a token. Any process with SECRET_KEY (web, worker) can make and check one; rotating the
salt revokes every link issued before. A token stops working ``ORDER_TOKEN_TTL_DAYS`` after its
order ended (published, refunded or failed for good), so an old email or log line opens nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from purchases.models import Order, OrderTransition

_NAMESPACE = "blogorder.order-token"


def new_token_salt() -> str:
    return secrets.token_hex(16)


def _signer(salt: str) -> signing.Signer:
    return signing.Signer(salt=f"{_NAMESPACE}:{salt}", algorithm="sha256")


def make_order_token(*, order_id: object, token_salt: str) -> str:
    """43 URL-safe characters, 256 bits of HMAC-SHA256."""
    return _signer(token_salt).signature(str(order_id))


def check_order_token(*, order_id: object, token_salt: str, token: str | None) -> bool:
    if not token or not token_salt:
        return False
    return constant_time_compare(make_order_token(order_id=order_id, token_salt=token_salt), token)


def order_ended_at(order: Order) -> datetime | None:
    """When the order reached the end it is at (published, refunded, failed), or None while it is open.

    A failed order that staff retry is open again. Orders moved without a recorded transition
    count from their last change.
    """
    if not (order.is_published or order.is_refunded or order.has_failed):
        return None
    moved_at = (
        OrderTransition.objects.filter(order_id=order.id, to_status=order.status)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return moved_at or order.updated_at


def order_token_expired(order: Order, *, now: datetime | None = None) -> bool:
    """True once ``ORDER_TOKEN_TTL_DAYS`` have passed since the order ended."""
    ended_at = order_ended_at(order)
    if ended_at is None:
        return False
    return (now or timezone.now()) >= ended_at + timedelta(days=settings.ORDER_TOKEN_TTL_DAYS)
