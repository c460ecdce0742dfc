"""The job outbox: PostgreSQL's record of the work to do; Redis only carries messages.

Generic: a ``JobRequest`` names its subject (the id of what the job works on, e.g. an order), the
job function by its dotted path, its keyword arguments and queue, so it can be put on RQ again
from this row alone. The app that owns the subject writes it in the same transaction as the
subject's state change; after commit the job is put on RQ; the reconciler finds requests whose
job is missing from Redis, stuck or abandoned and enqueues them again under the same job id.
"""

from __future__ import annotations

from django.db import models


class JobRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be put on the queue"
        ENQUEUED = "enqueued", "On the queue"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed for good"
        CANCELLED = "cancelled", "Cancelled (order refunded or superseded)"

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
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    enqueue_count = models.PositiveIntegerField(default=0)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subject_id", "run"], name="one_job_request_per_subject_run")
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.state})"


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
