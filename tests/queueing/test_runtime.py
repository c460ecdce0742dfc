"""Every worker execution is an attempt on record; the final-failure hook runs once, at the end."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from typing import Any

import django_rq
import pytest
from django.db import transaction
from rq.registry import ScheduledJobRegistry

from blogorder.logs import ContextFilter, JsonFormatter, log_context
from queueing.breaker import KEY_PREFIX
from queueing.enqueue import RETRY_MAX, job_request_create
from queueing.models import JobAttempt, JobRequest
from tests.queueing.jobs import failed_key, ran_key, remember_breaker

pytestmark = pytest.mark.django_db(transaction=True)


def redis_list(key: str) -> list[bytes | str]:
    return list(django_rq.get_connection("maintenance").lrange(key, 0, -1))


def test_a_job_that_succeeds_is_one_done_attempt_with_its_outcome(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    request = remember_request()

    run_maintenance_worker()

    request.refresh_from_db()
    assert request.state == JobRequest.State.DONE
    assert list(JobAttempt.objects.filter(request=request).values_list("outcome", "error")) == [("done", "")]
    job = django_rq.get_queue("maintenance").fetch_job(request.job_id)
    assert job is not None and (job.meta["stage"], job.meta["progress"]) == ("done", 100)


def test_a_final_error_is_not_retried_and_the_hook_runs_once(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    request = remember_request(mode="give_up")

    run_maintenance_worker()

    request.refresh_from_db()
    assert request.state == JobRequest.State.FAILED
    assert redis_list(ran_key(str(request.subject_id))) == [b"1"]
    assert redis_list(failed_key(str(request.subject_id))) == [b"GiveUp"]
    assert list(JobAttempt.objects.filter(request=request).values_list("outcome", flat=True)) == ["rejected"]


def test_an_error_is_retried_and_the_hook_runs_only_after_the_last_retry(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    request = remember_request(mode="raise")

    run_maintenance_worker()

    request.refresh_from_db()
    assert request.state == JobRequest.State.FAILED
    assert "RuntimeError: broken every time" in request.last_error
    assert len(redis_list(ran_key(str(request.subject_id)))) == RETRY_MAX + 1
    assert redis_list(failed_key(str(request.subject_id))) == [b"RuntimeError"]
    assert JobAttempt.objects.filter(request=request, outcome="error").count() == RETRY_MAX + 1


def test_waiting_on_our_own_busy_limit_never_opens_the_services_breaker(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    breaker = remember_breaker()
    breaker.reset()
    for run in (1, 2, 3):
        remember_request(run=run, func="tests.queueing.jobs.remember_waiting", mode="busy")
    run_maintenance_worker()
    assert not breaker.is_open()

    for run in (4, 5):
        remember_request(run=run, func="tests.queueing.jobs.remember_waiting", mode="down")
    run_maintenance_worker()
    assert breaker.is_open()
    assert JobAttempt.objects.filter(outcome="waiting").count() == 5


def test_a_probe_comes_within_a_minute_even_when_the_job_meant_to_probe_is_gone(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    breaker = remember_breaker()
    breaker.reset()
    held = [
        remember_request(run=run, func="tests.queueing.jobs.remember_waiting", mode="down")
        for run in (1, 2, 3)
    ]
    run_maintenance_worker()
    assert breaker.is_open()
    queue = django_rq.get_queue("maintenance")
    registry = ScheduledJobRegistry(queue=queue)
    assert sorted(registry.get_job_ids()) == sorted(r.job_id for r in held)
    assert breaker.release_for_probe() == 0  # still cooling down

    breaker.redis.set(f"{KEY_PREFIX}:{breaker.name}:probe_after", time.time() - 1)  # the cool-down is over
    assert breaker.release_for_probe() == 3

    due = registry.get_jobs_to_schedule(timestamp=int(time.time()))
    assert sorted(due) == sorted(r.job_id for r in held)


def test_every_line_a_job_logs_carries_its_job_id_id_arguments_and_request_id(
    run_maintenance_worker: Any,
) -> None:
    subject = uuid.uuid4()
    with log_context(request_id="req-from-web"), transaction.atomic():
        job_request_create(
            subject_id=subject,
            run=2,
            job_id="say-1",
            queue="maintenance",
            func="tests.queueing.jobs.say",
            kwargs={"subject_id": str(subject), "run": 2, "note": "not an id"},
        )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logging.getLogger("tests.queueing.jobs").addHandler(handler)
    try:
        run_maintenance_worker()
    finally:
        logging.getLogger("tests.queueing.jobs").removeHandler(handler)

    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "said"
    assert (line["job_id"], line["subject_id"], line["run"], line["request_id"]) == (
        "say-1",
        str(subject),
        2,
        "req-from-web",
    )
    assert "note" not in line
