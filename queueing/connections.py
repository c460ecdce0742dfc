"""RQ queues on one Redis client per process (per connection config), not a new client per call.

``django_rq.get_queue`` builds a new ``redis.Redis`` (its own connection pool) on every call, so each
web request that enqueues or reads a job opened a new TCP connection to Redis and sent its handshake
(``HELLO``/``CLIENT SETINFO``, for which redis-py reads its own package metadata from disk each
time). Keeping one client per connection config lets its pool reuse connections across requests:
redis-py's pool is thread-safe and resets itself in a forked child.

Keyed by the queue's connection settings as django-rq reads them, so a changed ``RQ_QUEUES`` (a
test pointing a queue at a dead Redis) gets its own client.
"""

from __future__ import annotations

import threading
from typing import Any

import django_rq
from django_rq.connection_utils import filter_connection_params
from redis import Redis
from rq import Queue

_clients: dict[str, Redis] = {}
_lock = threading.Lock()


def _config(name: str) -> dict[str, Any]:
    from django_rq.settings import QUEUES

    return QUEUES[name]


def rq_connection(name: str) -> Redis:
    """The process's Redis client for queue ``name``'s connection settings."""
    key = repr(sorted(filter_connection_params(_config(name)).items()))
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = django_rq.get_connection(name)
    return client


def rq_queue(name: str, **kwargs: Any) -> Queue:
    """``django_rq.get_queue(name, **kwargs)`` on the process's shared client for that queue."""
    return django_rq.get_queue(name, connection=rq_connection(name), **kwargs)
