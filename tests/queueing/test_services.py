"""The outbox services: the one place a job request's state changes, and only as the table allows."""

from __future__ import annotations

import uuid

import pytest

from queueing.models import JobRequest, JobState
from queueing.services import (
    job_attempt_finish,
    job_attempt_start,
    job_request_mark_enqueued,
    job_request_requeue,
    job_requests_cancel,
)
from tests.source_rules import writes_of

pytestmark = pytest.mark.django_db


def request_for(subject: uuid.UUID, *, run: int = 1, state: str = JobState.PENDING) -> JobRequest:
    return JobRequest.objects.create(
        subject_id=subject,
        run=run,
        job_id=f"remember-{subject}-run-{run}",
        queue="maintenance",
        func="tests.queueing.jobs.remember",
        kwargs={"subject_id": str(subject), "run": run},
        state=state,
    )


def state_of(request: JobRequest) -> str:
    request.refresh_from_db()
    return request.state


def test_a_request_is_marked_enqueued_only_while_pending() -> None:
    subject = uuid.uuid4()
    pending = request_for(subject, run=1)
    running = request_for(subject, run=2, state=JobState.RUNNING)

    job_request_mark_enqueued(job_id=pending.job_id)
    job_request_mark_enqueued(job_id=running.job_id)

    assert (state_of(pending), state_of(running)) == (JobState.ENQUEUED, JobState.RUNNING)


def test_a_late_copy_of_a_job_finishing_leaves_a_closed_request_as_it_is() -> None:
    subject = uuid.uuid4()
    request = request_for(subject, state=JobState.RUNNING)
    first = job_attempt_start(job_id=request.job_id)
    second = job_attempt_start(job_id=request.job_id)
    job_attempt_finish(attempt=first, outcome="done")

    job_attempt_finish(attempt=second, outcome="error", error="RuntimeError: late copy")

    request.refresh_from_db()
    assert (request.state, request.last_error) == (JobState.DONE, "")
    assert [a.outcome for a in request.attempts.all()] == ["done", "error"]


def test_a_job_starting_on_a_cancelled_request_is_recorded_but_leaves_it_cancelled() -> None:
    subject = uuid.uuid4()
    request = request_for(subject, state=JobState.CANCELLED)

    attempt = job_attempt_start(job_id=request.job_id, worker="w1")

    assert attempt is not None and attempt.worker == "w1"
    assert state_of(request) == JobState.CANCELLED


def test_requeueing_moves_a_lost_job_back_to_pending_but_never_a_closed_one() -> None:
    subject = uuid.uuid4()
    lost = request_for(subject, run=1, state=JobState.ENQUEUED)
    done = request_for(subject, run=2, state=JobState.DONE)

    assert job_request_requeue(job_id=lost.job_id) is True
    assert job_request_requeue(job_id=done.job_id) is False

    assert (state_of(lost), state_of(done)) == (JobState.PENDING, JobState.DONE)


def test_cancelling_closes_the_open_requests_except_the_kept_run() -> None:
    subject = uuid.uuid4()
    old = request_for(subject, run=1, state=JobState.RUNNING)
    finished = request_for(subject, run=2, state=JobState.DONE)
    current = request_for(subject, run=3, state=JobState.ENQUEUED)

    closed = job_requests_cancel(subject_id=subject, keep_run=3)

    assert [r.job_id for r in closed] == [old.job_id]
    assert [state_of(r) for r in (old, finished, current)] == [
        JobState.CANCELLED,
        JobState.DONE,
        JobState.ENQUEUED,
    ]


def test_only_the_outbox_services_write_a_request_state() -> None:
    assert writes_of("state", allowed={"queueing/models.py", "queueing/services.py"}) == []
