"""The circuit breaker shared by every worker: its state in the real Redis, its clock injected."""

from __future__ import annotations

import time
from datetime import timedelta

import django_rq
import pytest
from rq.registry import ScheduledJobRegistry

from queueing.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def breaker(clock: Clock, events: list[str]) -> CircuitBreaker:
    b = CircuitBreaker(
        name="test-service",
        threshold=3,
        cooldown_seconds=60,
        connection_queue="maintenance",
        on_open=lambda: events.append("open"),
        on_close=lambda: events.append("close"),
        _now=clock,
    )
    b.reset()
    return b


def test_it_opens_after_the_threshold_of_errors_in_a_row_and_tells_once(
    breaker: CircuitBreaker, events: list[str]
) -> None:
    breaker.record_failure(job_id="a")
    breaker.record_failure(job_id="b")
    breaker.record_success(job_id="c")  # the run of errors is broken
    breaker.record_failure(job_id="d")
    breaker.record_failure(job_id="e")
    assert not breaker.is_open()
    breaker.record_failure(job_id="f")
    breaker.record_failure(job_id="g")  # in flight when it opened: changes nothing
    assert breaker.is_open()
    assert events == ["open"]
    assert not breaker.allow(job_id="h")


def test_after_the_cool_down_exactly_one_job_probes_and_a_failed_probe_starts_another_cool_down(
    breaker: CircuitBreaker, clock: Clock, events: list[str]
) -> None:
    for job_id in "abc":
        breaker.record_failure(job_id=job_id)
    clock.now += 59
    assert not breaker.allow(job_id="p")
    clock.now += 2
    assert breaker.allow(job_id="p")
    assert not breaker.allow(job_id="q")  # one probe at a time
    breaker.record_failure(job_id="p")
    assert breaker.is_open()
    assert not breaker.allow(job_id="q")
    assert breaker.seconds_until_probe() == pytest.approx(60)
    clock.now += 61
    assert breaker.allow(job_id="q")
    breaker.record_success(job_id="q")
    assert not breaker.is_open()
    assert breaker.allow(job_id="r")
    assert events == ["open", "close"]


def test_a_probe_that_made_no_call_lets_another_job_probe(breaker: CircuitBreaker, clock: Clock) -> None:
    for job_id in "abc":
        breaker.record_failure(job_id=job_id)
    clock.now += 61
    assert breaker.allow(job_id="p")
    breaker.release_probe(job_id="p")
    assert breaker.allow(job_id="q")


def test_closing_makes_every_held_job_due_now_and_the_first_held_is_the_prober(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    queue = django_rq.get_queue("maintenance")
    jobs = [queue.enqueue_in(timedelta(hours=1), "tests.queueing.jobs.ran_key", "x") for _ in range(3)]
    for job_id in "abc":
        breaker.record_failure(job_id=job_id)
    delays = [breaker.hold(job=job) for job in jobs]
    assert delays[0] == pytest.approx(60.5)  # the prober wakes at the end of the cool-down
    assert delays[1:] == [None, None]  # the others keep their back-off
    registry = ScheduledJobRegistry("maintenance", connection=queue.connection)
    assert len(registry.get_jobs_to_schedule(int(time.time()))) == 0
    breaker.record_success(job_id="p")
    assert sorted(registry.get_jobs_to_schedule(int(time.time()))) == sorted(job.id for job in jobs)
    assert breaker.release_held() == 0  # released once


def test_the_breaker_talks_to_redis_over_the_process_client_not_a_new_connection_per_call(
    breaker: CircuitBreaker,
) -> None:
    client = breaker.redis
    before = client.info("clients")["connected_clients"]
    for _ in range(5):
        breaker.allow(job_id="job-1")
        breaker.record_success(job_id="job-1")
    assert breaker.redis is client  # one client, its pool reused
    assert client.info("clients")["connected_clients"] <= before + 1
