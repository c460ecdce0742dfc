"""The job outbox: PostgreSQL's record of the work to do; Redis only carries messages.

Generic: a ``JobRequest`` names its subject (the id of what the job works on, e.g. an order), the
job function by its dotted path, its keyword arguments and queue, so it can be put on RQ again
from this row alone. The app that owns the subject writes it in the same transaction as the
subject's state change; after commit the job is put on RQ; the reconciler finds requests whose
job is missing from Redis, stuck or abandoned and enqueues them again under the same job id. A
request's state moves only as ``ALLOWED_STATE_MOVES`` says, and only ``queueing.services`` moves it.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class JobState(models.TextChoices):
    PENDING = "pending", "Waiting to be put on the queue"
    ENQUEUED = "enqueued", "On the queue"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed for good"
    CANCELLED = "cancelled", "Cancelled (its subject moved on, or superseded)"


J = JobState
# Every allowed move of a request, written once; ``queueing.services`` makes them all. Anything
# else raises IllegalStateMove (one row) or is left out of a bulk update's filter (many rows).
ALLOWED_STATE_MOVES: dict[str, frozenset[str]] = {
    # RUNNING straight from PENDING: a worker may start the job before it was marked enqueued.
    J.PENDING: frozenset({J.ENQUEUED, J.RUNNING, J.DONE, J.FAILED, J.CANCELLED}),
    # Back to PENDING: the reconciler re-enqueues a job lost from Redis, or one whose worker died;
    # DONE or FAILED from PENDING or ENQUEUED: the first copy of a re-enqueued job finished after all.
    J.ENQUEUED: frozenset({J.PENDING, J.RUNNING, J.DONE, J.FAILED, J.CANCELLED}),
    # RUNNING again: the next attempt of the same run (an RQ retry) starts.
    J.RUNNING: frozenset({J.PENDING, J.RUNNING, J.DONE, J.FAILED, J.CANCELLED}),
    J.DONE: frozenset(),
    J.FAILED: frozenset(),
    J.CANCELLED: frozenset(),
}
# Requests that may still run: every state with a move out of it.
OPEN_STATES = frozenset(state for state, moves in ALLOWED_STATE_MOVES.items() if moves)


def states_into(to_state: str) -> frozenset[str]:
    """Every state ALLOWED_STATE_MOVES lets move to ``to_state``: the filter of a bulk move."""
    return frozenset(state for state, moves in ALLOWED_STATE_MOVES.items() if to_state in moves)


class IllegalStateMove(Exception):
    """A request state move not listed in ALLOWED_STATE_MOVES; nothing was changed."""

    def __init__(self, job_id: str, from_state: str, to_state: str) -> None:
        super().__init__(f"Job request {job_id}: {from_state} -> {to_state} is not allowed")
        self.from_state = from_state
        self.to_state = to_state


class JobRequestQuerySet(models.QuerySet["JobRequest"]):
    def open(self) -> JobRequestQuerySet:
        """Requests whose job may still run (pending, enqueued or running)."""
        return self.filter(state__in=OPEN_STATES)


class JobRequest(models.Model):
    State: ClassVar[type[JobState]] = JobState

    class Purpose(models.TextChoices):
        INITIAL = "initial", "First run"
        REGENERATION = "regeneration", "Asked for again"
        REBASE = "rebase", "Re-run on newer input"
        RETRY = "retry", "Retry after a failure"

    # The id of what the job works on (an order's id): requests are found and cancelled by it.
    subject_id = models.UUIDField(db_index=True)
    # The subject's Nth run; (subject, run) is unique.
    run = models.PositiveIntegerField()
    # What RQ runs: the job function's dotted path and its keyword arguments (JSON).
    func = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.INITIAL)
    job_id = models.CharField(max_length=200, unique=True)
    queue = models.CharField(max_length=50)
    state = models.CharField(max_length=16, choices=JobState.choices, default=J.PENDING)
    enqueue_count = models.PositiveIntegerField(default=0)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobRequestQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subject_id", "run"], name="one_job_request_per_subject_run")
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.state})"

    def can_move_to(self, to_state: str) -> bool:
        return to_state in ALLOWED_STATE_MOVES[self.state]

    def move_to(self, to_state: str) -> str:
        """Change state in memory if allowed; ``queueing.services`` saves. Returns the old state."""
        if not self.can_move_to(to_state):
            raise IllegalStateMove(self.job_id, self.state, to_state)
        previous = self.state
        self.state = to_state
        return previous


class JobAttempt(models.Model):
    """One execution of a job by a worker (RQ retries and re-enqueues each make one)."""

    request = models.ForeignKey(JobRequest, on_delete=models.CASCADE, related_name="attempts")
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.request.job_id} @ {self.started_at:%Y-%m-%d %H:%M:%S} {self.outcome}"
