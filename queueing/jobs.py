"""RQ job functions: load by id, call one service, report progress. Retries are declared at enqueue."""

from __future__ import annotations

import logging

from rq.job import get_current_job

from purchases.services.integration import order_fail, order_integrate_backlink
from queueing.progress import report_progress

logger = logging.getLogger(__name__)


def backlink_integration_job(*, order_id: str, run: int) -> str:
    """Integrate the customer's backlink for job run ``run`` of order ``order_id``.

    Idempotent: the service does nothing for an order that is no longer PROCESSING on this
    run, stores at most one version per (order, run) and queues each email once. When the
    last RQ retry raises, the order is failed (customer and staff told) before re-raising.
    """
    try:
        outcome = order_integrate_backlink(order_id=order_id, run=run, progress=report_progress)
    except Exception as exc:
        job = get_current_job()
        if job is None or not job.retries_left:
            logger.exception("integration job failed for good", extra={"order_id": order_id, "run": run})
            order_fail(order_id=order_id, reason=f"The integration job failed after its retries: {exc}")
        raise
    report_progress("done", 100, 0)
    return outcome
