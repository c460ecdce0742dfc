"""Provider limits: calls in flight, requests and tokens per minute, shared by every worker through Redis.

``ProviderLimits.call(tokens=..., lease_seconds=...)`` wraps one model call. It takes a permit
in one Lua script (atomic across workers and hosts), waits a few seconds at most for one, and
else raises ``ProviderBusy`` (an ``LLMUnavailable``), so the job gives its worker back and its
transient-error path tries again later. The caller reports the reply's real token count with
``Permit.spent``; the estimate taken before the call is corrected by the difference.

* Concurrency is a semaphore of leases: a sorted set of permit ids scored by when their lease
  runs out. A worker that dies mid-call never returns its permit, so a lease outlives the longest
  call (its timeout) and is then dropped by the next acquire: a permit is never lost for good.
* Requests and tokens per window are a sliding window approximated from two fixed windows (the
  current count plus the previous one weighted by how much of it still overlaps): O(1) memory,
  and a burst at one window's end still counts at the next one's start (exact when the previous
  window's calls were spread evenly).

Time is Redis's own clock (``TIME``), so hosts with drifting clocks share one view. A limit of
``None`` or 0 is off. If Redis cannot be reached the call goes ahead with a warning: the
provider's own 429 still protects it, and a limit is not worth an outage.

It lives in ``articles`` beside the writer it guards (it needs only Redis), so no layer has to
inject it: ``articles.writers.get_writer()`` builds it once from settings.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from redis.exceptions import RedisError

from articles.openai_api import LLMUnavailable

logger = logging.getLogger(__name__)


class ProviderBusy(LLMUnavailable):
    """Our own limit is reached: try again later (``retry_after``: about when a permit may free up)."""


# KEYS: the lease set, the request windows (current, previous), the token windows (current, previous).
# ARGV: permit id, lease ms, max concurrent, max requests, max tokens, tokens asked, window ms.
# Returns {0, window id} when taken, else {ms to wait, reason}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, max_calls = tonumber(ARGV[2]), tonumber(ARGV[3])
local max_requests, max_tokens = tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens, window = tonumber(ARGV[6]), tonumber(ARGV[7])
local id = math.floor(now / window)
local overlap = 1 - (now % window) / window
local prefix = KEYS[2]
local function used(name)
  local current = tonumber(redis.call('GET', prefix .. name .. ':' .. id) or '0')
  local previous = tonumber(redis.call('GET', prefix .. name .. ':' .. (id - 1)) or '0')
  return current + previous * overlap
end
local until_next = window - (now % window)
if max_calls > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= max_calls then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {math.min(tonumber(first[2]) - now, 1000), 'concurrency'}
  end
end
if max_requests > 0 and used('requests') + 1 > max_requests then
  return {until_next, 'requests'}
end
if max_tokens > 0 and used('tokens') + tokens > max_tokens then
  return {until_next, 'tokens'}
end
if max_calls > 0 then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  if redis.call('PTTL', KEYS[1]) < lease then
    redis.call('PEXPIRE', KEYS[1], lease)
  end
end
for _, name in ipairs({'requests', 'tokens'}) do
  local key = prefix .. name .. ':' .. id
  redis.call('INCRBY', key, name == 'requests' and 1 or tokens)
  redis.call('PEXPIRE', key, 2 * window + 1000)
end
return {0, tostring(id)}
"""

# KEYS: the token window the permit was counted in. ARGV: the difference (actual - estimate).
_CORRECT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], ARGV[1])
end
return 1
"""


@dataclass
class Permit:
    """One call's place: returned at the end of the ``with`` block; ``spent`` corrects its tokens."""

    limits: ProviderLimits
    id: str
    window: str | None
    tokens: int
    actual: int | None = field(default=None)

    def spent(self, tokens: int) -> None:
        """The reply's real token count (prompt and completion), replacing the estimate counted before."""
        self.actual = tokens


@dataclass(frozen=True)
class ProviderLimits:
    """The limits of one provider account, counted under ``prefix`` in ``connection``'s database.

    ``max_concurrent``, ``requests_per_window`` and ``tokens_per_window``: None or 0 is no limit.
    ``wait_seconds``: how long ``call`` waits for a permit before raising ``ProviderBusy``.
    """

    connection: redis.Redis | None
    max_concurrent: int | None = None
    requests_per_window: int | None = None
    tokens_per_window: int | None = None
    window_seconds: float = 60.0
    wait_seconds: float = 5.0
    prefix: str = "provider-limits:default:"

    @property
    def active(self) -> bool:
        return self.connection is not None and bool(
            self.max_concurrent or self.requests_per_window or self.tokens_per_window
        )

    @contextmanager
    def call(self, *, tokens: int, lease_seconds: float) -> Iterator[Permit]:
        """Hold a permit for one call of about ``tokens`` tokens lasting at most ``lease_seconds``.

        Raises ``ProviderBusy`` when none is free within ``wait_seconds``.
        """
        permit = self._acquire(tokens=tokens, lease_seconds=lease_seconds)
        try:
            yield permit
        finally:
            self._release(permit)

    def in_flight(self) -> int:
        """Permits held now (expired leases excluded), for figures and tests."""
        if self.connection is None:
            return 0
        now_s, now_us = self.connection.time()
        now_ms = now_s * 1000 + now_us // 1000
        return int(self.connection.zcount(self._leases, f"({now_ms}", "+inf"))

    @property
    def _leases(self) -> str:
        return f"{self.prefix}leases"

    def _acquire(self, *, tokens: int, lease_seconds: float) -> Permit:
        permit = Permit(limits=self, id=secrets.token_hex(8), window=None, tokens=tokens)
        if not self.active or self.connection is None:
            return permit
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                wait_ms, outcome = self.connection.eval(
                    _ACQUIRE,
                    2,
                    self._leases,
                    self.prefix,
                    permit.id,
                    int(lease_seconds * 1000),
                    self.max_concurrent or 0,
                    self.requests_per_window or 0,
                    self.tokens_per_window or 0,
                    tokens,
                    int(self.window_seconds * 1000),
                )
            except RedisError as exc:
                logger.warning("provider limits unavailable, calling anyway", extra={"error": str(exc)})
                return permit
            reason = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
            if int(wait_ms) == 0:
                permit.window = reason
                return permit
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProviderBusy(
                    f"provider limit reached ({reason}); try again later", retry_after=int(wait_ms) / 1000
                )
            time.sleep(min(int(wait_ms) / 1000, left, 0.25) + secrets.randbelow(50) / 1000)

    def _release(self, permit: Permit) -> None:
        if permit.window is None or self.connection is None:
            return
        try:
            if self.max_concurrent:
                self.connection.zrem(self._leases, permit.id)
            if permit.actual is not None and permit.actual != permit.tokens:
                self.connection.eval(
                    _CORRECT, 1, f"{self.prefix}tokens:{permit.window}", permit.actual - permit.tokens
                )
        except RedisError as exc:
            logger.warning(
                "provider limits: permit not returned (its lease will expire)", extra={"error": str(exc)}
            )


# No limits at all: a writer built without settings (tests of the writer alone).
NO_LIMITS = ProviderLimits(connection=None)
