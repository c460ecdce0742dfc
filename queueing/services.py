"""Writes on the job outbox: requests, their enqueueing and each worker attempt.

The one place a request's state changes. A single locked row moves with ``JobRequest.move_to``,
which raises IllegalStateMove; a bulk update filters on the states ``ALLOWED_STATE_MOVES`` lets
into the target (``states_into``), so a request in any other state is left as it is.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from blogorder.compiled_reads import CompiledRead
from queueing.models import JobAttempt, JobRequest, JobState, states_into

logger = logging.getLogger(__name__)


def job_requests_cancel(*, subject_id: UUID | str, keep_run: int | None = None) -> list[JobRequest]:
    """Close every open request of a subject (pending, enqueued or running) as CANCELLED.

    ``keep_run`` leaves that run's request open (a reconciler superseding older runs only).
    Returns the requests it closed. A running job finishes its current step but finds its
    subject moved on and stores nothing; ``job_attempt_finish`` leaves CANCELLED alone.
    """
    requests = JobRequest.objects.select_for_update().filter(
        subject_id=subject_id, state__in=states_into(JobState.CANCELLED)
    )
    if keep_run is not None:
        requests = requests.exclude(run=keep_run)
    closed = list(requests)
    now = timezone.now()
    JobRequest.objects.filter(pk__in=[r.pk for r in closed]).update(
        state=JobState.CANCELLED, finished_at=now, updated_at=now
    )
    return closed


def job_request_create_enqueued(
    *,
    subject_id: UUID,
    run: int,
    job_id: str,
    queue: str,
    func: str,
    kwargs: dict[str, Any],
    purpose: str,
) -> JobRequest:
    """A new request, written as put on RQ once, now (``queueing.enqueue.job_request_create`` puts
    it when the caller's transaction commits, or moves it back to PENDING if Redis refuses it)."""
    return JobRequest.objects.create(
        subject_id=subject_id,
        run=run,
        job_id=job_id,
        queue=queue,
        func=func,
        kwargs=kwargs,
        purpose=purpose,
        state=JobState.ENQUEUED,
        enqueue_count=1,
        last_enqueued_at=timezone.now(),
    )


def job_request_mark_enqueued(*, job_id: str) -> None:
    """Record that the job was put on RQ now: ``last_enqueued_at`` always; the state moves to ENQUEUED
    (and ``updated_at`` with it) only from a state allowed into it. One UPDATE."""
    now = timezone.now()
    may_move = Q(state__in=states_into(JobState.ENQUEUED))
    JobRequest.objects.filter(job_id=job_id).update(
        state=Case(When(may_move, then=Value(JobState.ENQUEUED)), default=F("state")),
        updated_at=Case(When(may_move, then=Value(now)), default=F("updated_at")),
        last_enqueued_at=now,
    )


def job_request_requeue(*, job_id: str) -> bool:
    """Back to PENDING before the reconciler puts the job on RQ again; False if it was not moved.

    Only an enqueued or running request moves (its job was lost from Redis, or its worker died);
    a pending one already is, and a closed one stays closed.
    """
    moved = JobRequest.objects.filter(job_id=job_id, state__in=states_into(JobState.PENDING)).update(
        state=JobState.PENDING, updated_at=timezone.now()
    )
    return bool(moved)


# The request of an RQ job id (``job_id`` is unique), its id only: compiled once per thread and connection.
REQUEST_OF_JOB = CompiledRead(
    lambda job_id: JobRequest.objects.only("pk").filter(job_id=job_id), params={"job_id": str}
)


def job_attempt_start(*, job_id: str, worker: str = "") -> JobAttempt | None:
    """Record that a worker started the job; None for a job with no request row (not ours).

    The request becomes RUNNING unless it is closed already (done, failed or cancelled): the
    attempt is recorded either way, so staff see every execution. Three short statements and no
    transaction: the request's id, one UPDATE filtered on the states allowed into RUNNING (atomic
    on its own, as the locked read-then-write was), and the attempt's INSERT.
    """
    request = REQUEST_OF_JOB.get_or_none(job_id=job_id)
    if request is None:
        return None
    request_id = request.pk
    now = timezone.now()
    JobRequest.objects.filter(pk=request_id, state__in=states_into(JobState.RUNNING)).update(
        state=JobState.RUNNING, started_at=now, updated_at=now
    )
    return JobAttempt.objects.create(request_id=request_id, worker=worker[:200])


def job_attempts_interrupt(*, request: JobRequest, worker: str, reason: str) -> int:
    """Close this worker's open attempts of ``request`` as "interrupted" (not final: it runs again).

    Called when a stopping worker kills its job mid-run and hands it back; returns how many closed.
    """
    now = timezone.now()
    closed = JobAttempt.objects.filter(request=request, worker=worker[:200], finished_at__isnull=True).update(
        finished_at=now, outcome="interrupted", error=reason[:4000]
    )
    JobRequest.objects.filter(pk=request.pk).update(last_error=reason[:4000], updated_at=now)
    return closed


def job_attempt_finish(
    *, attempt: JobAttempt | None, outcome: str, error: str = "", final: bool = True
) -> None:
    """Close the attempt; a final outcome also closes the request (DONE, or FAILED on error).

    A request closed already (cancelled, or finished by another copy of the job) keeps its state.
    """
    if attempt is None:
        return
    now = timezone.now()
    JobAttempt.objects.filter(pk=attempt.pk).update(finished_at=now, outcome=outcome[:40], error=error[:4000])
    if not final:
        JobRequest.objects.filter(pk=attempt.request_id).update(last_error=error[:4000], updated_at=now)
        return
    state = JobState.FAILED if error else JobState.DONE
    JobRequest.objects.filter(pk=attempt.request_id, state__in=states_into(state)).update(
        state=state, finished_at=now, last_error=error[:4000], updated_at=now
    )
