"""Logs: one JSON object a line in production, readable text locally, with each line's context.

- Context: ``log_context(**fields)`` gives every record logged inside the block those fields
  (a ``contextvars`` variable, so each thread and asyncio task keeps its own). Lower layers add
  what they know about the running code with ``log_context_source`` (``queueing`` adds the RQ
  job's id, its id arguments and the request id it was enqueued under). ``ContextFilter`` puts
  the context on each record; a field the call passed in ``extra=`` wins.
- Requests: ``RequestIdMiddleware`` takes ``X-Request-ID`` (at most 200 of ``[A-Za-z0-9._-]``)
  or makes one, logs every line of the request under it, echoes it in the response and logs one
  ``request`` line (method, path without the query, status, duration): the access log.
- Secrets: ``RedactFilter`` blanks extras whose key names a secret (token, password, api_key,
  authorization, signature, an email's body/html/text…), ``token=``/``key=`` query values and
  bearer tokens in messages, and replaces Django's request object by its method and path; both
  formatters finally scrub the values of secret settings (``SECRET_KEY``, API keys, the webhook
  secret) and key-shaped strings from the whole line, tracebacks included.
- Formats: ``JsonFormatter`` (python-json-logger): ``timestamp``, ``level``, ``logger``,
  ``message`` and every extra; ``TextFormatter``: the classic line plus ``key=value`` pairs.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

REDACTED = "[redacted]"
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "blogorder.request_id"  # where the middleware leaves it on the request
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,200}")

_context: ContextVar[Mapping[str, Any]] = ContextVar("blogorder_log_context", default=MappingProxyType({}))
_sources: list[Callable[[], Mapping[str, Any]]] = []

request_logger = logging.getLogger("blogorder.request")


# --- Context ----------------------------------------------------------------------------------------


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every record logged inside the block carries ``fields`` (None values are left out)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_source(source: Callable[[], Mapping[str, Any]]) -> None:
    """Add a function whose fields every record carries (under ``log_context``'s); call it once, at start-up."""
    if source not in _sources:
        _sources.append(source)


def current_log_context() -> dict[str, Any]:
    """The fields a record logged here and now gets: the sources', then ``log_context``'s."""
    fields: dict[str, Any] = {}
    for source in _sources:
        fields.update(source())
    fields.update(_context.get())
    return fields


def carried_log_context() -> dict[str, str]:
    """What a job enqueued now keeps in its ``meta`` to log under: the current request id, if any."""
    request_id = current_log_context().get("request_id")
    return {"request_id": str(request_id)} if request_id else {}


class ContextFilter(logging.Filter):
    """Adds the current context to each record; explicit ``extra`` fields win. Put it on handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_log_context().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        request = record.__dict__.get("request")
        if "request_id" not in record.__dict__ and isinstance(request, HttpRequest):
            # django.request logs a 4xx answer after the middleware has returned: the request has its id.
            request_id = request.META.get(REQUEST_ID_META)
            if request_id:
                record.request_id = request_id
        return True


# --- Secrets ----------------------------------------------------------------------------------------

# An extra is blanked when its key (lower case, separators dropped) ends with one of these…
SENSITIVE_KEY_ENDINGS = (
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "signature",
    "apikey",
    "cookie",
)
# …or its last word is one of these (an email's body, html or text; a link's key; a salt).
SENSITIVE_KEY_WORDS = frozenset({"key", "sig", "salt", "body", "html", "text", "markdown", "content"})
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:token|key|api_key|apikey|access_token|secret|password|signature)=)[^&\s\"'#\\<>]+"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=:-]+")
# Key-shaped strings, whatever their context: Stripe secret/restricted keys and webhook secrets, OpenAI keys.
_KEY_SHAPES = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|\bwhsec_[A-Za-z0-9_]{8,}|\bsk-[A-Za-z0-9_-]{16,}"
)
# Settings (or keys of settings dicts, e.g. ANYMAIL's, DATABASES') whose value is a secret (a webhook
# URL is one: whoever has it may post); of other URLs (REDIS_URL, a cache LOCATION), the password.
_SECRET_SETTING = re.compile(r"(^|_)(SECRET|PASSWORD|TOKEN|KEY|WEBHOOK_URL)(_FALLBACKS)?$")
_URL_SETTING = re.compile(r"(URL|LOCATION)$")
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def is_sensitive_key(key: str) -> bool:
    words = [word for word in re.split(r"[^a-z0-9]+", key.lower()) if word]
    joined = "".join(words)
    return joined.endswith(SENSITIVE_KEY_ENDINGS) or bool(words and words[-1] in SENSITIVE_KEY_WORDS)


@lru_cache(maxsize=1)
def _secret_values() -> tuple[str, ...]:
    """The values of settings that name a secret (``SECRET_KEY``, ``*_API_KEY``, ``*_SECRET``, ``*_TOKEN``…)."""
    try:
        names = dir(settings)
    except ImproperlyConfigured:
        return ()
    found: set[str] = set()

    def collect(name: str, value: Any) -> None:
        if isinstance(value, str) and len(value) >= 8 and _SECRET_SETTING.search(name.upper()):
            found.add(value)
        elif isinstance(value, str) and _URL_SETTING.search(name.upper()):
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password and len(password) >= 8:
                found.add(password)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                collect(str(key), item)
        elif isinstance(value, list | tuple) and _SECRET_SETTING.search(name.upper()):
            for item in value:
                collect(name, item)

    with warnings.catch_warnings():
        # Reading every setting touches deprecated ones too (Django 6.1: EMAIL_* before MAILERS).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        for name in names:
            if name.isupper():
                collect(name, getattr(settings, name, None))
    return tuple(sorted(found, key=len, reverse=True))


def _settings_changed(**kwargs: Any) -> None:
    _secret_values.cache_clear()


setting_changed.connect(_settings_changed, dispatch_uid="blogorder.logs.secret_values")


def scrub(text: str) -> str:
    """``text`` without query-string secrets, bearer tokens, key-shaped strings or secret settings' values."""
    text = _QUERY_SECRET.sub(rf"\1{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    text = _KEY_SHAPES.sub(REDACTED, text)
    for value in _secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if is_sensitive_key(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


class RedactFilter(logging.Filter):
    """Blanks secrets in a record's message and extras (see the module docstring). Put it on handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format call: logging reports it when formatting
            message = ""
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        request = record.__dict__.get("request")
        if isinstance(request, HttpRequest):  # django.request/security: its repr has the query string
            record.__dict__["request"] = f"{request.method} {request.path}"
        elif request is not None and not isinstance(request, str):  # runserver's socket
            del record.__dict__["request"]
        for key in [k for k in record.__dict__ if k not in _STANDARD_ATTRS and not k.startswith("_")]:
            value = record.__dict__[key]
            record.__dict__[key] = REDACTED if is_sensitive_key(key) else _redact(value)
        return True


# --- Formats ----------------------------------------------------------------------------------------


class JsonFormatter(BaseJsonFormatter):
    """One JSON object a line: ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, extras."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "exc_info": "exception"})
        super().__init__("%(levelname)s %(name)s %(message)s", **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class TextFormatter(logging.Formatter):
    """``time level logger message key=value…``: readable, with every extra (the context included)."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs: Any) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s %(message)s", datefmt, **kwargs)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        pairs = [
            f"{key}={_text_value(value)}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and not key.startswith("_")
        ]
        return " ".join([line, *pairs])

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _text_value(value: Any) -> str:
    if isinstance(value, str) and value and not re.search(r"[\s\"'=]", value):
        return value
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):  # e.g. a circular structure
        return repr(value)


# --- Requests ---------------------------------------------------------------------------------------


def request_id_from(header: str | None) -> str:
    """The client's (or proxy's) request id when it is one we can log safely, else a new one."""
    if header and REQUEST_ID_PATTERN.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in ``MIDDLEWARE``: every line a request logs carries its ``request_id``, echoed in ``X-Request-ID``.

    Jobs the request enqueues keep the id (``carried_log_context``), so the worker's lines carry
    it too. One ``request`` line per request ends it; its path never has the query string.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.META[REQUEST_ID_META] = request_id
        started = time.monotonic()
        with log_context(request_id=request_id):
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            request_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
        return response
