"""The error type every app raises for a refused request; the API maps each to a 4xx JSON answer.

Shared by all apps (the lowest layer): an error carries its HTTP status, a stable ``code`` and the
``fields`` it names, so the API (``blogorder.api_errors``), the admin and the pages answer alike.
"""

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


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class ActionNotAllowed(Conflict):
    """The object is not in a state where this action may run (nothing was changed)."""

    code = "action_not_allowed"
