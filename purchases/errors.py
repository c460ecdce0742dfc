"""Errors the order services raise; the API maps each to a 4xx JSON answer with its code."""

from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400
    code = "invalid_request"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidField(ApplicationError):
    """Input that passed its own checks but names something that does not exist."""

    code = "invalid"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class OrderNotFound(NotFound):
    """Also raised for a wrong or missing token, so the two cannot be told apart."""


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class ArticleUnavailable(Conflict):
    code = "article_unavailable"


class SoldOut(Conflict):
    code = "sold_out"


class NoContent(Conflict):
    code = "no_content"


class ActionNotAllowed(Conflict):
    code = "action_not_allowed"


class NotRefundable(Conflict):
    """Unpaid, already refunded in full, or asked for more than is left to refund."""

    code = "not_refundable"


class PaymentProviderError(ApplicationError):
    status_code = 503
    code = "payment_provider_unavailable"
