"""Periodic jobs, read by RQ's cron scheduler: ``python manage.py cron`` (or ``rqcron blogorder.cron``).

Run exactly one such process; it only enqueues, and a worker listening on ``maintenance`` runs
the jobs. ``manage.py cron`` also runs the alert checks and logs the queue stats in its own
process every minute (``purchases.monitoring``): those must work with no worker. Times are UTC.
"""

from rq import cron

from purchases.jobs import (
    paid_links_audit_job,
    reconcile_orders_job,
    scheduled_publish_due_job,
    stripe_reconcile_job,
    writing_service_probe_job,
)

# Every minute: re-enqueue lost or abandoned order runs, send unsent emails.
cron.register(
    reconcile_orders_job, queue_name="maintenance", interval=60, name="reconcile-orders", job_timeout=300
)

# Every day at 03:17 UTC, over the last 48 hours so a missed run is covered by the next one.
cron.register(
    stripe_reconcile_job,
    queue_name="maintenance",
    kwargs={"hours": 48},
    cron="17 3 * * *",
    job_timeout=600,
    name="reconcile-stripe",
)

# Every night at 02:41 UTC: every paid, published link is still live with its anchor and rel.
cron.register(
    paid_links_audit_job,
    queue_name="maintenance",
    cron="41 2 * * *",
    job_timeout=600,
    name="paid-links-audit",
)

# Every minute: while the writing service's circuit breaker is open, a probe runs at least once a minute.
cron.register(
    writing_service_probe_job,
    queue_name="maintenance",
    interval=60,
    name="writing-service-probe",
    job_timeout=60,
)

# Every minute: put one publish job per scheduled order whose time has come (README "Scheduled publishing").
cron.register(
    scheduled_publish_due_job,
    queue_name="maintenance",
    interval=60,
    name="scheduled-publish",
    job_timeout=120,
)
