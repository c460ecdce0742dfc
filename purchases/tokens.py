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
from django.db.models import DateTimeField
from django.db.models.expressions import RawSQL
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


def order_has_ended(order: Order) -> bool:
    """Published, refunded or failed: the ends an order token expires after."""
    return order.is_published or order.is_refunded or order.has_failed


def order_ended_at(order: Order) -> datetime | None:
    """When the order reached the end it is at (published, refunded, failed), or None while it is open.

    A failed order that staff retry is open again. Orders moved without a recorded transition
    count from their last change.
    """
    if not order_has_ended(order):
        return None
    if hasattr(order, ENTERED_STATUS_AT):  # read with the order: ``entered_status_at_subquery``
        moved_at = getattr(order, ENTERED_STATUS_AT)
    else:
        moved_at = (
            OrderTransition.objects.filter(order_id=order.id, to_status=order.status)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
    return moved_at or order.updated_at


# The name under which ``order_get_for_customer`` reads the latest move into the order's current
# status with the order itself, so the token's expiry costs no query of its own.
ENTERED_STATUS_AT = "entered_status_at"


def latest_move_sql(column: str, *, arrivals_only: bool = False) -> str:
    """SQL for ``column`` of the latest move of the outer query's order into its current status, as a
    scalar subquery of an ``Order`` query. ``arrivals_only`` leaves out the moves from that same
    status (records that move no status). Raw SQL because it is compiled on every status poll:
    the ORM's ``Subquery(OuterRef…)`` costs ~1 ms of CPU to compile each time, this nothing."""
    moves, orders = OrderTransition._meta.db_table, Order._meta.db_table
    same = f' AND t."from_status" <> "{orders}"."status"' if arrivals_only else ""
    return (
        f'(SELECT t."{column}" FROM "{moves}" t WHERE t."order_id" = "{orders}"."id" '
        f'AND t."to_status" = "{orders}"."status"{same} ORDER BY t."created_at" DESC, t."id" DESC LIMIT 1)'
    )


def entered_status_at_subquery() -> RawSQL:
    """When the order (the outer query's row) last moved into its current status, as a subquery."""
    return RawSQL(latest_move_sql("created_at"), (), output_field=DateTimeField())


def order_token_expired(order: Order, *, now: datetime | None = None) -> bool:
    """True once ``ORDER_TOKEN_TTL_DAYS`` have passed since the order ended."""
    return token_expired_since(order_ended_at(order), now=now)


def token_expired_since(ended_at: datetime | None, *, now: datetime | None = None) -> bool:
    """True once ``ORDER_TOKEN_TTL_DAYS`` have passed since ``ended_at`` (None: the order is still open)."""
    if ended_at is None:
        return False
    return (now or timezone.now()) >= ended_at + timedelta(days=settings.ORDER_TOKEN_TTL_DAYS)


# --- The "all my orders" link ----------------------------------------------------------------------

_ORDERS_LINK_SALT = "blogorder.orders-link"


def customer_email_normalize(email: str) -> str:
    """How an address is matched against orders: trimmed and lower-cased (orders match it ignoring case)."""
    return email.strip().lower()


class _OrdersLinkSigner(signing.TimestampSigner):
    """Django's timestamped signer, whose timestamp may be given (a link issued at another time)."""

    def __init__(self, *, issued_at: datetime | None = None) -> None:
        super().__init__(salt=_ORDERS_LINK_SALT, algorithm="sha256")
        self._issued_at = issued_at

    def timestamp(self) -> str:
        if self._issued_at is None:
            return super().timestamp()
        return signing.b62_encode(int(self._issued_at.timestamp()))


def orders_link_ttl() -> timedelta:
    return timedelta(hours=settings.ORDER_LOOKUP_LINK_TTL_HOURS)


def make_orders_link_key(*, email: str, issued_at: datetime | None = None) -> str:
    """The signed key of the link to every order of ``email`` (normalized): Django signing, SECRET_KEY.

    It carries the address and when it was issued (now, unless ``issued_at`` says otherwise), so it
    opens the listing for ``ORDER_LOOKUP_LINK_TTL_HOURS``; nothing is stored. URL-safe.
    """
    return _OrdersLinkSigner(issued_at=issued_at).sign_object(customer_email_normalize(email))


def orders_link_email(key: str) -> str:
    """The address a link key was made for.

    Raises ``signing.SignatureExpired`` once the key is older than ``ORDER_LOOKUP_LINK_TTL_HOURS``,
    and ``signing.BadSignature`` (its parent) for anything not made by ``make_orders_link_key``.
    """
    email = _OrdersLinkSigner().unsign_object(key, max_age=orders_link_ttl())
    if not isinstance(email, str) or not email:
        raise signing.BadSignature("not an orders link")
    return email
