"""Reads on incidents, for the checks that need their own history."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from alerts.models import Incident


def incident_open(*, key: str) -> Incident | None:
    return Incident.objects.filter(key=key, resolved_at__isnull=True).first()


def incident_last_resolved_at(*, key: str) -> datetime | None:
    """When the latest incident of ``key`` cleared (None if none ever did)."""
    value: datetime | None = Incident.objects.filter(key=key, resolved_at__isnull=False).aggregate(
        last=Max("resolved_at")
    )["last"]
    return value
