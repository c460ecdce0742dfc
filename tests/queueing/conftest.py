"""Outbox requests for the generic job ``tests.queueing.jobs.remember`` (no order involved)."""

from __future__ import annotations

import uuid
from typing import Any

import django_rq
import pytest
from django.db import transaction
from rq import SimpleWorker

from queueing.enqueue import job_request_create
from queueing.models import JobRequest


@pytest.fixture
def remember_request() -> Any:
    """Write a committed request for ``remember`` (or ``func``) (its job goes on the ``maintenance`` queue)."""

    def _make(
        *,
        run: int = 1,
        mode: str = "ok",
        subject_id: uuid.UUID | None = None,
        func: str = "tests.queueing.jobs.remember",
    ) -> JobRequest:
        subject = subject_id or uuid.uuid4()
        with transaction.atomic():
            return job_request_create(
                subject_id=subject,
                run=run,
                job_id=f"remember-{subject}-run-{run}",
                queue="maintenance",
                func=func,
                kwargs={"subject_id": str(subject), "run": run, "mode": mode},
            )

    return _make


@pytest.fixture
def run_maintenance_worker() -> Any:
    def _run() -> None:
        queue = django_rq.get_queue("maintenance")
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)

    return _run
