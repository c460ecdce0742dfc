"""The ``/metrics`` registry and who may read it.

One registry per process, built on first use: the queue and job collectors of ``queueing``, the
order collector of ``purchases`` and django-rq's ``RQCollector``. Every value is read from Redis
and PostgreSQL at scrape time (see ``queueing.metrics``), not counted in process memory, so no
multiprocess mode is needed: every web process answers the same.
"""

from __future__ import annotations

import hmac
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import CollectorRegistry, generate_latest

from purchases.metrics import OrderCollector
from queueing.metrics import JobCollector, QueueCollector, RQRegistryCollector


@cache
def registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    for collector in (QueueCollector(), JobCollector(), OrderCollector(), RQRegistryCollector()):
        registry.register(collector)
    return registry


def metrics_enabled() -> bool:
    return bool(settings.METRICS_TOKEN)


def metrics_authorized(request: HttpRequest) -> bool:
    """Whether the request carries ``Authorization: Bearer <METRICS_TOKEN>`` (compared in constant time)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or not settings.METRICS_TOKEN:
        return False
    return hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())


def metrics_text() -> bytes:
    return generate_latest(registry())
