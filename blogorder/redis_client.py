"""Clients for the app's one Redis, at ``REDIS_URL`` or, on several hosts, behind Redis Sentinel.

RQ gets its connection from ``RQ_QUEUES`` (django-rq reads ``SENTINELS``/``MASTER_NAME`` itself);
the cache and the provider limits get theirs here, so with ``REDIS_SENTINELS`` set every Redis
client follows a failover to the new master. Through Sentinel, ``REDIS_URL`` gives only the
database number and password.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from redis.connection import parse_url
from redis.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.utils import SENTINEL


class SentinelConnection(SentinelManagedConnection):
    """redis-py's Sentinel connection, dropped when a read is interrupted, as a plain one is.

    redis-py's keeps the socket after an exception mid-read (``disconnect_on_error=False``): a
    worker's SIGTERM during its blocking BLPOP leaves that reply unread, and the next command (the
    worker's farewell) reads it and fails. Every Sentinel client of the app uses this class.
    """

    def read_response(
        self,
        disable_decoding: bool = False,
        *,
        timeout: float | object = SENTINEL,
        disconnect_on_error: bool | None = True,
        push_request: bool | None = False,
    ) -> Any:
        return super().read_response(
            disable_decoding=disable_decoding,
            timeout=timeout,
            disconnect_on_error=disconnect_on_error,
            push_request=push_request,
        )


def _sentinel() -> Sentinel:
    password = settings.REDIS_SENTINEL_PASSWORD
    return Sentinel(settings.REDIS_SENTINELS, sentinel_kwargs={"password": password} if password else {})


def _url_auth(url: str) -> dict[str, Any]:
    """The database number and credentials of a Redis URL (its host and port are Sentinel's to name)."""
    return {key: value for key, value in parse_url(url).items() if key in ("db", "username", "password")}


def redis_connection() -> redis.Redis:
    """A client for the app's Redis: ``REDIS_URL``, or the master ``REDIS_SENTINELS`` name."""
    if settings.REDIS_SENTINELS:
        return _sentinel().master_for(
            settings.REDIS_SENTINEL_MASTER,
            connection_class=SentinelConnection,
            **_url_auth(settings.REDIS_URL),
        )
    return redis.Redis.from_url(settings.REDIS_URL)


class SentinelMasterPool(SentinelConnectionPool):
    """Django's Redis cache ``pool_class`` through Sentinel (``CACHES`` in settings).

    Django builds its pool with ``pool_class.from_url(LOCATION, **OPTIONS)``; ``OPTIONS`` carries
    ``sentinels`` and ``master_name``, ``LOCATION`` the database number and password.
    """

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SentinelMasterPool:  # type: ignore[override]
        sentinels = options.pop("sentinels")
        master_name = options.pop("master_name")
        password = settings.REDIS_SENTINEL_PASSWORD
        sentinel = Sentinel(sentinels, sentinel_kwargs={"password": password} if password else {})
        return cls(master_name, sentinel, connection_class=SentinelConnection, **_url_auth(url), **options)
