"""Errors the order services raise, on top of the project's error types (``blogorder.errors``)."""

from __future__ import annotations

from blogorder.errors import ActionNotAllowed, ApplicationError, Conflict, InvalidField, NotFound
from policy.selectors import PolicyDecision

__all__ = [
    "ActionNotAllowed",
    "ApplicationError",
    "ArticleUnavailable",
    "Conflict",
    "DraftOutdated",
    "InvalidField",
    "NoContent",
    "NotFound",
    "NotRefundable",
    "OrderNotFound",
    "PaymentProviderError",
    "PriceChanged",
    "SoldOut",
    "TooManyOpenCheckouts",
]


class OrderNotFound(NotFound):
    """Also raised for a wrong or missing token, so the two cannot be told apart."""


class ArticleUnavailable(Conflict):
    code = "article_unavailable"


class SoldOut(Conflict):
    code = "sold_out"


class TooManyOpenCheckouts(Conflict):
    """This customer address or client has as many unpaid checkouts open as allowed."""

    code = "too_many_open_checkouts"


class DraftOutdated(Conflict):
    """A chosen earlier draft was written on a published version the article has since replaced."""

    code = "draft_outdated"


class NoContent(Conflict):
    code = "no_content"


class NotRefundable(Conflict):
    """Unpaid, already refunded in full, or asked for more than is left to refund."""

    code = "not_refundable"


class PaymentProviderError(ApplicationError):
    status_code = 503
    code = "payment_provider_unavailable"


class PriceChanged(Conflict):
    """The price is not the ``acceptedTotal`` the buyer agreed to (a niche surcharge applies, or changed).

    ``decision`` holds the price now, so a form can show it and ask again; nothing was written.
    """

    code = "price_changed"

    def __init__(self, message: str, *, decision: PolicyDecision) -> None:
        super().__init__(message, fields={"acceptedTotal": [message]})
        self.decision = decision
