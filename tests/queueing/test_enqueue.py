"""The outbox puts a job on RQ only after its transaction commits, once, from the row alone."""

from __future__ import annotations

import uuid
from typing import Any

import django_rq
import pytest
from django.db import transaction
from rq.job import Job

from blogorder.logs import log_context
from queueing.enqueue import job_put, job_request_create
from queueing.models import JobRequest
from queueing.services import job_requests_cancel
from tests.queueing.jobs import ran_key

pytestmark = pytest.mark.django_db(transaction=True)


def queued_ids() -> list[str]:
    return list(django_rq.get_queue("maintenance").get_job_ids())


def remember(subject: uuid.UUID, job_id: str) -> JobRequest:
    """The outbox row for ``remember`` of ``subject``, run 1, in the caller's transaction."""
    return job_request_create(
        subject_id=subject,
        run=1,
        job_id=job_id,
        queue="maintenance",
        func="tests.queueing.jobs.remember",
        kwargs={"subject_id": str(subject), "run": 1},
    )


def test_a_request_reaches_the_queue_only_when_its_transaction_commits(run_maintenance_worker: Any) -> None:
    subject = uuid.uuid4()
    with transaction.atomic():
        request = remember(subject, "remember-a")
        assert queued_ids() == []

    assert queued_ids() == ["remember-a"]
    request.refresh_from_db()
    assert (request.state, request.enqueue_count) == (JobRequest.State.ENQUEUED, 1)
    run_maintenance_worker()
    assert django_rq.get_connection("maintenance").lrange(ran_key(str(subject)), 0, -1) == [b"1"]
    request.refresh_from_db()
    assert request.state == JobRequest.State.DONE


def test_a_rolled_back_request_never_reaches_the_queue() -> None:
    subject = uuid.uuid4()
    with pytest.raises(RuntimeError), transaction.atomic():
        remember(subject, "remember-b")
        raise RuntimeError("the caller's state change failed")

    assert queued_ids() == []
    assert not JobRequest.objects.filter(subject_id=subject).exists()


def test_a_job_is_put_in_one_round_trip_to_redis(redis_round_trips: Any) -> None:
    """RQ alone sends two transactions a job; the outbox hands it one pipeline (one MULTI/EXEC)."""
    subject = uuid.uuid4()
    with redis_round_trips() as sent, transaction.atomic():
        remember(subject, "remember-one-trip")

    assert queued_ids() == ["remember-one-trip"]
    job = Job.fetch("remember-one-trip", connection=django_rq.get_connection("maintenance"))
    assert (job.get_status(), job.origin) == ("queued", "maintenance")
    assert len(sent) == 1, sent


def test_putting_a_job_twice_leaves_one_copy_on_the_queue(remember_request: Any) -> None:
    request = remember_request()

    assert job_put(job_id=request.job_id) is False

    assert queued_ids() == [request.job_id]
    request.refresh_from_db()
    assert request.enqueue_count == 1


def test_a_cancelled_request_is_not_put_again(remember_request: Any) -> None:
    request = remember_request()
    django_rq.get_queue("maintenance").empty()
    with transaction.atomic():
        job_requests_cancel(subject_id=request.subject_id)

    assert job_put(job_id=request.job_id) is False
    assert queued_ids() == []


def test_a_job_keeps_the_request_id_it_was_put_under_in_its_meta() -> None:
    for job_id, request_id in (("remember-in-request", "req-7"), ("remember-from-cron", None)):
        subject = uuid.uuid4()
        with log_context(request_id=request_id), transaction.atomic():
            remember(subject, job_id)

        meta = Job.fetch(job_id, connection=django_rq.get_connection("maintenance")).meta
        assert meta.get("request_id") == request_id
