"""queueing.alerts against a real Redis with real RQ workers: each condition is one incident, one
email and one webhook POST however many checks run, and one recovery when it clears."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_rq
import pytest
from django.utils import timezone
from rq import SimpleWorker

from alerts.models import Incident
from alerts.services import alerts_check
from queueing.alerts import failed_jobs_growing_check, job_failure_check, no_worker_check, oldest_job_check

pytestmark = pytest.mark.django_db(transaction=True)


def subjects(mailoutbox: list[Any]) -> list[str]:
    return [message.subject for message in mailoutbox]


def run_burst(queue_name: str) -> None:
    queue = django_rq.get_queue(queue_name)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_no_live_worker_for_two_minutes_is_told_once_and_a_worker_heartbeat_recovers_it(
    mailoutbox: list[Any], alert_webhook: Any, settings: Any
) -> None:
    settings.NO_WORKER_ALERT_SECONDS = 120
    checks = [no_worker_check(["backlink-integration"])]
    start = timezone.now() - timedelta(seconds=300)  # the worker went five minutes ago
    alerts_check(checks, now=start)
    alerts_check(checks, now=start + timedelta(seconds=60))
    assert mailoutbox == [] and Incident.objects.get().key == "no-worker:backlink-integration"

    for seconds in (121, 180, 240):
        alerts_check(checks, now=start + timedelta(seconds=seconds))
    assert subjects(mailoutbox) == [
        "[Blogorder] Alert: No live worker on queue backlink-integration for 2 min"
    ]
    assert alert_webhook.events() == [("alert", "no-worker:backlink-integration")]

    queue = django_rq.get_queue("backlink-integration")
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.register_birth()
    try:
        worker.heartbeat()
        alerts_check(checks)
        alerts_check(checks)
    finally:
        worker.register_death()

    assert subjects(mailoutbox)[1:] == [
        "[Blogorder] Resolved: No live worker on queue backlink-integration for 2 min"
    ]
    assert alert_webhook.events()[1:] == [("recovery", "no-worker:backlink-integration")]
    assert "Cleared:   " in mailoutbox[1].body and "after 5 min" in mailoutbox[1].body
    assert Incident.objects.get().resolved_at is not None


def test_a_worker_whose_heartbeat_went_stale_counts_as_missing(mailoutbox: list[Any], settings: Any) -> None:
    settings.NO_WORKER_ALERT_SECONDS = 120
    queue = django_rq.get_queue("maintenance")
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.register_birth()
    try:
        worker.heartbeat()
        checks = [no_worker_check(["maintenance"])]
        start = timezone.now()
        alerts_check(checks, now=start)
        assert not Incident.objects.exists()
        alerts_check(checks, now=start + timedelta(seconds=80))  # its last beat is 80 s old: dead
        alerts_check(checks, now=start + timedelta(seconds=201))
    finally:
        worker.register_death()
    assert subjects(mailoutbox) == ["[Blogorder] Alert: No live worker on queue maintenance for 2 min"]


def test_a_queue_whose_oldest_job_waited_too_long_is_told_once_and_clears_when_drained(
    mailoutbox: list[Any], alert_webhook: Any, settings: Any
) -> None:
    settings.QUEUE_OLDEST_JOB_ALERT_SECONDS = 600
    django_rq.get_queue("maintenance").enqueue("builtins.len", "abc")
    checks = [oldest_job_check(["maintenance"])]
    alerts_check(checks, now=timezone.now() + timedelta(seconds=590))
    assert mailoutbox == []
    alerts_check(checks, now=timezone.now() + timedelta(seconds=610))
    alerts_check(checks, now=timezone.now() + timedelta(seconds=700))
    assert subjects(mailoutbox) == [
        "[Blogorder] Alert: Queue maintenance: the oldest job has waited over 10 min"
    ]
    assert "jobs waiting: 1" in mailoutbox[0].body

    run_burst("maintenance")
    alerts_check(checks, now=timezone.now() + timedelta(seconds=760))
    alerts_check(checks, now=timezone.now() + timedelta(seconds=820))
    assert subjects(mailoutbox)[1:] == [
        "[Blogorder] Resolved: Queue maintenance: the oldest job has waited over 10 min"
    ]
    assert alert_webhook.events() == [
        ("alert", "oldest-job:maintenance"),
        ("recovery", "oldest-job:maintenance"),
    ]


def test_a_growing_failed_job_registry_is_told_once_and_clears_when_the_failures_are_dealt_with(
    mailoutbox: list[Any], alert_webhook: Any
) -> None:
    queue = django_rq.get_queue("backlink-integration")
    checks = [failed_jobs_growing_check(["backlink-integration"])]
    queue.enqueue("builtins.int", "not a number")
    run_burst("backlink-integration")
    alerts_check(checks)  # the first check takes the count it compares with: nothing yet
    alerts_check(checks)
    assert mailoutbox == [] and not Incident.objects.exists()

    for _ in range(2):
        queue.enqueue("builtins.int", "still not a number")
        run_burst("backlink-integration")
        alerts_check(checks)
    alerts_check(checks)

    assert subjects(mailoutbox) == [
        "[Blogorder] Alert: Failed jobs are piling up on queue backlink-integration"
    ]
    incident = Incident.objects.get()
    assert incident.details == {
        "queue": "backlink-integration",
        "failed_before": 1,
        "failed_now": 3,
        "new_failures": 2,
    }

    for job_id in queue.failed_job_registry.get_job_ids()[:2]:  # staff delete two of them
        queue.failed_job_registry.remove(job_id, delete_job=True)
    alerts_check(checks)
    alerts_check(checks)
    assert subjects(mailoutbox)[1:] == [
        "[Blogorder] Resolved: Failed jobs are piling up on queue backlink-integration"
    ]
    assert alert_webhook.events() == [
        ("alert", "failed-jobs-growing:backlink-integration"),
        ("recovery", "failed-jobs-growing:backlink-integration"),
    ]


def test_a_failed_maintenance_job_is_told_once_and_clears_when_the_next_run_succeeds(
    mailoutbox: list[Any], alert_webhook: Any
) -> None:
    queue = django_rq.get_queue("maintenance")
    checks = [job_failure_check("maintenance")]
    alerts_check(checks)
    queue.enqueue("builtins.int", "not a number")
    run_burst("maintenance")
    for _ in range(3):
        alerts_check(checks)

    assert subjects(mailoutbox) == ["[Blogorder] Alert: Job int failed on queue maintenance"]
    body = mailoutbox[0].body
    assert "job: builtins.int" in body and "ValueError: invalid literal for int()" in body
    assert Incident.objects.get().key == "job-failed:maintenance:builtins.int"

    queue.enqueue("builtins.int", "42")  # the next run of the same job succeeds
    run_burst("maintenance")
    alerts_check(checks)
    for job_id in queue.finished_job_registry.get_job_ids():  # its record expires (result_ttl)
        queue.finished_job_registry.remove(job_id, delete_job=True)
    alerts_check(checks)
    alerts_check(checks)

    assert subjects(mailoutbox)[1:] == ["[Blogorder] Resolved: Job int failed on queue maintenance"]
    assert alert_webhook.events() == [
        ("alert", "job-failed:maintenance:builtins.int"),
        ("recovery", "job-failed:maintenance:builtins.int"),
    ]
    assert Incident.objects.count() == 1  # the old failure, still in the registry, is not news

    queue.enqueue("builtins.int", "broken again")
    run_burst("maintenance")
    alerts_check(checks)
    assert Incident.objects.count() == 2 and len(mailoutbox) == 3


def test_failed_jobs_of_other_queues_are_not_maintenance_failures(mailoutbox: list[Any]) -> None:
    django_rq.get_queue("backlink-integration").enqueue("builtins.int", "x")
    run_burst("backlink-integration")
    alerts_check([job_failure_check("maintenance")])
    assert mailoutbox == [] and not Incident.objects.exists()
