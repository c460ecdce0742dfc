"""Writes on the job outbox: requests, their enqueueing and each worker attempt."""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from queueing.models import JobAttempt, JobRequest

logger = logging.getLogger(__name__)

# A request in these states still owes its job a run.
OPEN_STATES = (JobRequest.State.PENDING, JobRequest.State.ENQUEUED, JobRequest.State.RUNNING)


def job_requests_cancel(*, subject_id: UUID | str, exclude_run: int | None = None) -> list[JobRequest]:
    """Close the subject's open requests (pending, enqueued or running) as CANCELLED.

    ``exclude_run`` keeps that run open (the subject's current one). Returns the requests it
    closed. A running job finishes its current step but finds its subject moved on and stores
    nothing; ``job_attempt_finish`` leaves CANCELLED alone.
    """
    open_requests = JobRequest.objects.select_for_update().filter(
        subject_id=subject_id, state__in=OPEN_STATES
    )
    if exclude_run is not None:
        open_requests = open_requests.exclude(run=exclude_run)
    requests = list(open_requests)
    now = timezone.now()
    JobRequest.objects.filter(pk__in=[r.pk for r in requests]).update(
        state=JobRequest.State.CANCELLED, finished_at=now, updated_at=now
    )
    return requests


def job_request_mark_enqueued(*, job_id: str) -> None:
    JobRequest.objects.filter(job_id=job_id, state=JobRequest.State.PENDING).update(
        state=JobRequest.State.ENQUEUED, updated_at=timezone.now()
    )
    JobRequest.objects.filter(job_id=job_id).update(last_enqueued_at=timezone.now())


def job_attempt_start(*, job_id: str, worker: str = "") -> JobAttempt | None:
    """Record that a worker started the job; None for a job with no request row (not ours)."""
    with transaction.atomic():
        request = JobRequest.objects.select_for_update().filter(job_id=job_id).first()
        if request is None:
            return None
        if request.state in (JobRequest.State.PENDING, JobRequest.State.ENQUEUED, JobRequest.State.RUNNING):
            request.state = JobRequest.State.RUNNING
            request.started_at = timezone.now()
            request.save(update_fields=["state", "started_at", "updated_at"])
        return JobAttempt.objects.create(request=request, worker=worker[:200])


def job_attempt_finish(
    *, attempt: JobAttempt | None, outcome: str, error: str = "", final: bool = True
) -> None:
    """Close the attempt; a final outcome also closes the request (DONE, or FAILED on error)."""
    if attempt is None:
        return
    now = timezone.now()
    JobAttempt.objects.filter(pk=attempt.pk).update(finished_at=now, outcome=outcome[:40], error=error[:4000])
    if not final:
        JobRequest.objects.filter(pk=attempt.request_id).update(last_error=error[:4000], updated_at=now)
        return
    state = JobRequest.State.FAILED if error else JobRequest.State.DONE
    JobRequest.objects.filter(pk=attempt.request_id).exclude(state=JobRequest.State.CANCELLED).update(
        state=state, finished_at=now, last_error=error[:4000], updated_at=now
    )


def job_request_reopen(*, job_id: str) -> None:
    """Back to PENDING: its job is to be put on RQ again (lost from Redis, or its worker died)."""
    JobRequest.objects.filter(job_id=job_id, state__in=OPEN_STATES).update(
        state=JobRequest.State.PENDING, updated_at=timezone.now()
    )
