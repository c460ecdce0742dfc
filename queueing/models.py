"""The job outbox: PostgreSQL's record of the work each order needs; Redis only carries messages.

A ``JobRequest`` is written in the same transaction as the order's state change, so a paid order
can never be without the record of its job. After commit the job is put on RQ; the reconciler
finds requests whose job is missing from Redis, stuck or abandoned and enqueues them again under
the same deterministic job id.
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
        INITIAL = "initial", "First draft after payment"
        REGENERATION = "regeneration", "Customer regeneration"
        REBASE = "rebase", "Re-run on a newer published version"
        RETRY = "retry", "Staff retry after a failure"

    order = models.ForeignKey("purchases.Order", on_delete=models.CASCADE, related_name="job_requests")
    run = models.PositiveIntegerField()
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
        constraints = [models.UniqueConstraint(fields=["order", "run"], name="one_job_request_per_order_run")]
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
