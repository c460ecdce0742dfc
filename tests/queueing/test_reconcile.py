"""The run reconciler puts an open request's lost job back on RQ under the same id, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.utils import timezone

from queueing.models import JobRequest
from queueing.reconcile import job_requests_reconcile
from tests.queueing.jobs import ran_key

pytestmark = pytest.mark.django_db(transaction=True)


def reconcile() -> Any:
    return job_requests_reconcile(changed_before=timezone.now(), heartbeat_grace=timedelta(seconds=30))


def test_an_open_request_whose_job_redis_lost_is_put_back_once(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    request = remember_request()
    django_rq.get_connection("maintenance").flushdb()  # the app's whole Redis database is gone

    first, second = reconcile(), reconcile()

    assert (first.requeued, second.requeued) == ([request.job_id], [])
    assert django_rq.get_queue("maintenance").get_job_ids() == [request.job_id]
    run_maintenance_worker()
    assert django_rq.get_connection("maintenance").lrange(ran_key(str(request.subject_id)), 0, -1) == [b"1"]
    request.refresh_from_db()
    assert (request.state, request.enqueue_count) == (JobRequest.State.DONE, 2)


def test_a_queued_job_and_a_finished_request_are_left_alone(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    done = remember_request(run=1)
    run_maintenance_worker()
    queued = remember_request(run=2)

    report = reconcile()

    assert (report.checked, report.requeued, report.abandoned) == (1, [], [])
    assert django_rq.get_queue("maintenance").get_job_ids() == [queued.job_id]
    done.refresh_from_db()
    assert done.state == JobRequest.State.DONE


def test_a_job_queued_under_a_path_that_no_longer_imports_is_put_back_under_its_rows_path(
    remember_request: Any, run_maintenance_worker: Any
) -> None:
    # As after a deploy that moved the job function: the queued message names the old path.
    request = remember_request()
    queue = django_rq.get_queue("maintenance")
    queue.empty()
    queue.enqueue_call("tests.queueing.moved_away.remember", kwargs=request.kwargs, job_id=request.job_id)
    run_maintenance_worker()
    assert queue.fetch_job(request.job_id).is_failed  # type: ignore[union-attr]

    report = reconcile()
    run_maintenance_worker()

    assert report.requeued == [request.job_id]
    assert django_rq.get_connection("maintenance").lrange(ran_key(str(request.subject_id)), 0, -1) == [b"1"]
    request.refresh_from_db()
    assert request.state == JobRequest.State.DONE
