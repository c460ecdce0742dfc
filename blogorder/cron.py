"""Periodic jobs, run by RQ's cron scheduler: ``python manage.py rqcron blogorder.cron``.

The scheduler only enqueues; the worker listening on ``maintenance`` runs the jobs.
"""

from rq import cron

from queueing.jobs import reconcile_orders_job

cron.register(reconcile_orders_job, queue_name="maintenance", interval=60, name="reconcile-orders")
