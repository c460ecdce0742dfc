"""The order endpoints' rate limits (scopes of ``blogorder.throttling``), shared by the API and the pages.

Each scope's rate is the setting ``RATE_LIMIT_<SCOPE>``; README "Limits" lists them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import BaseThrottle

from blogorder.throttling import ClientRateThrottle


class CheckoutThrottle(ClientRateThrottle):
    """Checkouts per client: each opens a Stripe session (``RATE_LIMIT_CHECKOUT``)."""

    scope = "checkout"


class CustomerEmailThrottle(ClientRateThrottle):
    """Requests of a scope per customer address (the body's ``customerEmail``), whatever client sends them."""

    def ident(self, request: Any) -> str | None:
        """The body's ``customerEmail``, trimmed and lower-cased; none (a 400 follows) counts nothing."""
        # A DRF Request has the parsed body in ``data``; a page's HttpRequest has its form in ``POST``.
        data = request.data if hasattr(request, "data") else request.POST
        email = data.get("customerEmail") if hasattr(data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return email.strip().lower()


class CheckoutEmailThrottle(CustomerEmailThrottle):
    """Checkouts per customer address, whatever client sends them (``RATE_LIMIT_CHECKOUT_EMAIL``)."""

    scope = "checkout_email"


class RegenerateThrottle(ClientRateThrottle):
    """New drafts asked for per client: each costs model calls (``RATE_LIMIT_REGENERATE``)."""

    scope = "regenerate"


class SubmitThrottle(ClientRateThrottle):
    """Submissions for review per client (``RATE_LIMIT_SUBMIT``)."""

    scope = "submit"


class LookupThrottle(ClientRateThrottle):
    """Reads of an order (status, content, versions) per client (``RATE_LIMIT_LOOKUP``)."""

    scope = "lookup"


class OrdersLinkThrottle(ClientRateThrottle):
    """Requests for the link to all of an address's orders, per client (``RATE_LIMIT_ORDERS_LINK``)."""

    scope = "orders_link"


class OrdersLinkEmailThrottle(CustomerEmailThrottle):
    """The same per address asked about, from any client (``RATE_LIMIT_ORDERS_LINK_EMAIL``): each may send it an email."""

    scope = "orders_link_email"


class MessageThrottle(ClientRateThrottle):
    """Customer messages per client, whatever the order (``RATE_LIMIT_MESSAGE``)."""

    scope = "message"


class MessageOrderThrottle(ClientRateThrottle):
    """Customer messages per order, from any client (``RATE_LIMIT_MESSAGE_ORDER``).

    Asked only once the order's token was checked (``throttle_wait`` in the view), so a stranger
    cannot spend an order's allowance.
    """

    scope = "message_order"

    def ident(self, request: Any) -> str | None:
        """The order's id from the page's URL or the body's ``orderId``."""
        match = getattr(request, "resolver_match", None)
        order_id = match.kwargs.get("order_id") if match is not None else None
        if order_id is None:
            data = request.data if hasattr(request, "data") else request.POST
            order_id = data.get("orderId") if hasattr(data, "get") else None
        return str(order_id).strip().lower() if order_id else None


CHECKOUT_THROTTLES: list[type[BaseThrottle]] = [CheckoutThrottle, CheckoutEmailThrottle]
# By the customer action's name (purchases.actions), for the API views and the order page's buttons.
ACTION_THROTTLES: dict[str, list[type[BaseThrottle]]] = {
    "regenerate": [RegenerateThrottle],
    "submit_for_review": [SubmitThrottle],
}
ORDERS_LINK_THROTTLES: list[type[BaseThrottle]] = [OrdersLinkThrottle, OrdersLinkEmailThrottle]
# Customer messages: per client on every post (the view's throttles), then per order once the token is checked.
MESSAGE_THROTTLES: list[type[BaseThrottle]] = [MessageThrottle]
MESSAGE_ORDER_THROTTLES: list[type[BaseThrottle]] = [MessageOrderThrottle]
