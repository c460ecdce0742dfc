"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``.

Shared by every app: the exception handler (named in ``REST_FRAMEWORK``), ``error_body`` for views
that answer errors themselves, and ``ErrorSerializer``, which documents the shape in OpenAPI.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from blogorder.errors import ApplicationError

logger = logging.getLogger(__name__)


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (JSON can spell them, UTF-8 cannot) written as ``\\udXXX``.

    Messages may quote the client's input back (DRF's choice error does), and the renderer
    encodes to UTF-8: one unpaired surrogate would turn a 400 into a 500.
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    safe_fields = {
        _encodable(str(name)): [_encodable(str(msg)) for msg in msgs] for name, msgs in (fields or {}).items()
    }
    return {"error": {"code": code, "message": _encodable(message), "fields": safe_fields}}


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, list):
        return [msg for item in detail for msg in _flatten(item)]
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in _flatten(value)]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = {key: _flatten(value) for key, value in detail.items()}
            names = ", ".join(fields)
            return Response(error_body("invalid", f"Invalid input: {names}.", fields), status=400)
        return Response(error_body("invalid", " ".join(_flatten(detail))), status=400)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, RequestDataTooBig):
        # Django's own answer would be its HTML 400 page (it is a SuspiciousOperation).
        return Response(
            error_body("request_too_large", "The request body is larger than this API accepts."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, exceptions.Throttled):
        # DRF's own handler would answer code "throttled"; the wait goes in Retry-After and the message.
        wait = max(1, int(getattr(exc, "wait", None) or 1))
        return Response(
            error_body("rate_limited", f"Too many requests; try again in {wait} seconds."),
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    message = " ".join(_flatten(getattr(exc, "detail", str(exc))))
    response.data = error_body(str(code), message)
    return response


def json_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON under /api/, Django's page elsewhere.

    For requests Django refuses before any view runs: a Host header not in ALLOWED_HOSTS, or
    another SuspiciousOperation.
    """
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", "The request could not be accepted."), status=400)
    return defaults.bad_request(request, exception or SuspiciousOperation())


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception or Http404())


def json_500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return defaults.server_error(request)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid`, `not_found`, `sold_out`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    # DRF's metaclass moves declared fields out of the class body, so this does not hide
    # Serializer.fields; mypy only sees the class attribute.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per invalid input field (400 `invalid`); empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API: ``{"error": {"code", "message", "fields"}}``."""

    # For the schema only: the answers themselves are built by blogorder.api_errors.error_body.

    error = ErrorBodySerializer()
