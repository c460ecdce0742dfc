"""Incidents: a condition staff must hear about, from when it was first seen until it cleared.

Generic: an incident is named by its ``key`` (``no-worker:backlink-integration``,
``orders-overdue``…) and knows nothing of what raised it. At most one incident per key is open
(a partial unique constraint), so two checkers never open two. What was sent, on which channel,
is recorded on the row; the claim (``claimed_until``) makes sure only one process sends.
"""

from __future__ import annotations

from django.db import models


class Incident(models.Model):
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    # JSON-able facts of the latest check that saw the condition (counts, ids, ages).
    details = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()  # when a check first saw the condition
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)  # when a check no longer saw it
    # Staff are told once the condition has lasted this long (e.g. 120 s without a worker).
    notify_after = models.DateTimeField()
    # What went out: the alert and the recovery message, by email and by webhook.
    notified_at = models.DateTimeField(null=True, blank=True)
    webhook_notified_at = models.DateTimeField(null=True, blank=True)
    recovery_notified_at = models.DateTimeField(null=True, blank=True)
    recovery_webhook_notified_at = models.DateTimeField(null=True, blank=True)
    # A sender's lease: one short UPDATE takes it, the messages go out with no transaction open.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(resolved_at__isnull=True), name="one_open_incident_per_key"
            )
        ]
        indexes = [models.Index(fields=["resolved_at", "key"])]

    def __str__(self) -> str:
        return f"{self.key} ({'open' if self.resolved_at is None else 'resolved'})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def notified(self) -> bool:
        return self.notified_at is not None

    @property
    def recovery_notified(self) -> bool:
        return self.recovery_notified_at is not None
