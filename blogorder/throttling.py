"""Rate limits shared by every app: DRF throttles whose rates are settings, counted in the Django cache.

A scope's rate is the setting ``RATE_LIMIT_<SCOPE>`` in DRF's format (``20/hour``), read on every
request (so a test can turn one on), or ``off``. The API answers a throttled request with 429
``rate_limited`` and ``Retry-After`` (``blogorder.api_errors``); pages ask ``throttle_wait`` and
show a message. Who "a client" is comes from ``client_ip``.

The counts live in Redis (``CACHES``). If Redis cannot be reached the request is let through and
a warning logged: a limit is not worth an outage of checkout.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import secrets
from collections.abc import Iterable
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)

OFF = "off"


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest | Request) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or the last address in ``CLIENT_IP_HEADER`` when set.

    The last one is the address the trusted proxy itself saw (earlier entries are whatever the
    client wrote). A header that holds no valid address is ignored. None when there is no valid
    address at all (a server on a Unix socket without the header): such requests share one
    rate-limit count, and the open-checkout cap per client does not apply to them.
    """
    header = settings.CLIENT_IP_HEADER
    if header:
        listed = _ip(request.headers.get(header, "").split(",")[-1])
        if listed is not None:
            return listed
    return _ip(str(request.META.get("REMOTE_ADDR") or ""))


def rate_setting(scope: str) -> str | None:
    """The rate of ``scope`` from ``RATE_LIMIT_<SCOPE>``, or None when it is ``off``."""
    rate = str(getattr(settings, f"RATE_LIMIT_{scope.upper()}")).strip().lower()
    return None if rate == OFF else rate


# One sliding window, atomically (a Lua script runs alone on the server): KEYS[1] the window;
# ARGV: now, the period (seconds), this request's member, the most allowed in a period. Returns
# {1, count with this one, ""} when allowed (and records it), else {0, count, the oldest's time}.
WINDOW_SCRIPT = """
local key, now, period = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local count = redis.call('ZCARD', key)
if count < tonumber(ARGV[4]) then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('EXPIRE', key, math.floor(period) + 1)
  return {1, count + 1, ''}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, count, oldest[2] or ''}
"""


def _window_script() -> Any:
    """``WINDOW_SCRIPT`` on the CACHES server (Sentinel included), through Django's Redis cache
    client: registered once per cache backend (per thread, as Django's caches are), since that
    client's ``get_client`` builds a new ``redis.Redis`` on every call. It runs by EVALSHA, loading
    the script again if the server lost it (a restart, a failover)."""
    backend = cast(Any, cache)._cache
    script = backend.__dict__.get("_blogorder_window_script")
    if script is None:
        script = backend.get_client(None, write=True).register_script(WINDOW_SCRIPT)
        backend.__dict__["_blogorder_window_script"] = script
    return script


class ClientRateThrottle(SimpleRateThrottle):
    """Requests of one scope per client (``client_ip``), at the scope's ``RATE_LIMIT_<SCOPE>``.

    Subclasses set ``scope``; those counting something else than the client override ``ident``.
    Works on a DRF ``Request`` (API views) and on a plain ``HttpRequest`` (pages).

    DRF's sliding window (a request is allowed while fewer than the rate's number were allowed in
    the last period), kept as a Redis sorted set of the allowed requests' times instead of a
    pickled list read and written whole: one command a request, whatever the rate (``WINDOW_SCRIPT``:
    drop the expired, count, then add this one if allowed, or read the oldest if not), so a refused
    request never counts, as in DRF.
    """

    scope: str
    # Not DRF's list key ("throttle:…"): during a rolling deploy the old processes' pickled lists and
    # these sorted sets must not meet under one key (each would fail on the other's type).
    cache_format = "throttle-window:%(scope)s:%(ident)s"
    # Set by DRF's ``__init__`` from the rate (the stubs leave them out).
    num_requests: int
    duration: int

    def get_rate(self) -> str | None:
        return rate_setting(self.scope)

    def ident(self, request: Any) -> str | None:
        """What the requests are counted by; None counts nothing."""
        return client_ip(request) or "unknown"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        ident = self.ident(request)
        if ident is None:
            return None
        # Hashed: an ident may be client text (an email address), and cache keys must be short and safe.
        digest = hashlib.sha256(ident.encode("utf-8", "backslashreplace")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            return self._allow(cache.make_key(key))
        except RedisError as exc:
            logger.warning(
                "rate limit not checked: cache unreachable", extra={"scope": self.scope, "error": str(exc)}
            )
            return True

    def _allow(self, key: str) -> bool:
        self.now = now = self.timer()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        allowed, count, oldest = _window_script()(
            keys=[key], args=[repr(now), repr(float(self.duration)), member, self.num_requests]
        )
        if allowed:
            return True
        self.allowed_before = int(count)
        self.oldest = float(oldest) if oldest else now
        return False

    def wait(self) -> float | None:
        """Seconds until the next request may be allowed, as DRF reckons them."""
        remaining = self.duration - (self.now - self.oldest)
        available = self.num_requests - self.allowed_before + 1
        return remaining / available if available > 0 else remaining


def throttle_wait(request: HttpRequest | Request, throttles: Iterable[type[BaseThrottle]]) -> int | None:
    """For pages (and API checks made after the view's own): check ``throttles`` as a DRF view
    would; the seconds to wait, or None if allowed.

    Every throttle is asked (and counts the request if it allows it), as DRF does. The throttles
    get the plain ``HttpRequest`` and no view: ``ClientRateThrottle`` reads only headers and form data.
    """
    page_request: Any = request
    no_view: Any = None
    waits = []
    for throttle_class in throttles:
        throttle = throttle_class()
        if not throttle.allow_request(page_request, no_view):
            waits.append(throttle.wait() or 0)
    if not waits:
        return None
    return max(1, math.ceil(max(waits)))
