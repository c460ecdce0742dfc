"""Incidents opened, resolved and told to staff: once per incident, then once when it clears.

``alerts_check(checks)`` runs every check, opens an incident for each new finding (or refreshes
the open one), resolves the open incidents a check no longer finds, and sends what is owed.

Delivery is claim-then-send, as for order emails: one short ``UPDATE`` takes the incident's lease
(``claimed_until``) where no live lease exists, the messages go out with no transaction open, and
each one sent is recorded at once. A second checker finds the lease taken and sends nothing; a
send that fails (mail provider, webhook down or slow past its timeout) is logged, left owed and
tried again at the next check. Staff are emailed (``STAFF_NOTIFICATION_EMAILS``) and, with
``ALERT_WEBHOOK_URL`` set, the webhook gets the same as JSON. A recovery goes on a channel only
where the alert went.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from alerts.checks import Check, Finding
from alerts.models import Incident
from alerts.webhook import webhook_post

logger = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)  # longer than one pass of sends (two channels, each with a timeout)


@dataclass
class CheckReport:
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # "<key> alert email", "<key> recovery webhook"…
    failed_checks: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"opened {len(self.opened)}, resolved {len(self.resolved)}, sent {len(self.sent)}, "
            f"checks failed {len(self.failed_checks)}"
        )


def alerts_check(checks: Sequence[Check], *, now: datetime | None = None) -> CheckReport:
    """Run ``checks`` once and tell staff what is owed. Safe to run in several processes at once."""
    now = now or timezone.now()
    report = CheckReport()
    for check in checks:
        try:
            findings = check.find(now)
        except Exception:
            logger.exception("alert check failed", extra={"check": check.name})
            report.failed_checks.append(check.name)
            continue
        keys = set()
        for finding in findings:
            keys.add(finding.key)
            if incident_observe(finding=finding, now=now):
                report.opened.append(finding.key)
        gone = Incident.objects.filter(resolved_at__isnull=True, key__startswith=check.prefix).exclude(
            key__in=keys
        )
        for incident_id, key in gone.values_list("id", "key"):
            if incident_resolve(incident_id=incident_id, now=now):
                report.resolved.append(key)
    report.sent = incidents_notify(now=now)
    return report


def incident_observe(*, finding: Finding, now: datetime) -> bool:
    """Open an incident for ``finding`` or refresh the open one (details, last seen). True if opened."""
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update().filter(key=finding.key, resolved_at__isnull=True).first()
        )
        if incident is None:
            try:
                with transaction.atomic():
                    Incident.objects.create(
                        key=finding.key,
                        title=finding.title[:300],
                        details=finding.details,
                        opened_at=now,
                        last_seen_at=now,
                        notify_after=now + timedelta(seconds=finding.hold_seconds),
                    )
                return True
            except IntegrityError:  # another checker opened it meanwhile
                incident = Incident.objects.select_for_update().get(key=finding.key, resolved_at__isnull=True)
        incident.details = finding.details
        incident.last_seen_at = max(incident.last_seen_at, now)
        incident.save(update_fields=["details", "last_seen_at"])
    return False


def incident_resolve(*, incident_id: int, now: datetime) -> bool:
    """Mark an open incident resolved; False if it was resolved already (another checker)."""
    return Incident.objects.filter(pk=incident_id, resolved_at__isnull=True).update(resolved_at=now) == 1


def _owed_q(now: datetime) -> Q:
    alert_due = Q(resolved_at__isnull=True, notify_after__lte=now)
    owed = (alert_due & Q(notified_at__isnull=True)) | Q(
        resolved_at__isnull=False, notified_at__isnull=False, recovery_notified_at__isnull=True
    )
    if settings.ALERT_WEBHOOK_URL:
        owed |= (alert_due & Q(webhook_notified_at__isnull=True)) | Q(
            resolved_at__isnull=False,
            webhook_notified_at__isnull=False,
            recovery_webhook_notified_at__isnull=True,
        )
    return owed


def incidents_notify(*, now: datetime | None = None) -> list[str]:
    """Send every alert and recovery message owed; returns what was sent."""
    now = now or timezone.now()
    sent: list[str] = []
    for incident_id in Incident.objects.filter(_owed_q(now)).values_list("id", flat=True):
        sent += incident_notify(incident_id=incident_id, now=now)
    return sent


def incident_notify(*, incident_id: int, now: datetime) -> list[str]:
    """Claim the incident, send what it owes on each channel, record each send, release the claim."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if not Incident.objects.filter(free, pk=incident_id).update(claimed_until=now + CLAIM_LEASE):
        return []  # another checker is sending it
    sent: list[str] = []
    errors: list[str] = []
    try:
        incident = Incident.objects.get(pk=incident_id)
        for what, channel, field_name in _owed(incident, now=now):
            try:
                if channel == "email":
                    _send_email(incident, what=what)
                else:
                    webhook_post(
                        settings.ALERT_WEBHOOK_URL,
                        _payload(incident, what=what),
                        timeout=settings.ALERT_WEBHOOK_TIMEOUT_SECONDS,
                    )
            except Exception as exc:  # WebhookError, the mail backend's errors
                logger.warning(
                    "alert not sent; tried again at the next check",
                    extra={
                        "incident": incident.key,
                        "alert_kind": what,
                        "channel": channel,
                        "error": str(exc),
                    },
                )
                errors.append(f"{what} {channel}: {exc}")
                continue
            Incident.objects.filter(pk=incident_id).update(**{field_name: now})
            logger.info(
                "alert sent", extra={"incident": incident.key, "alert_kind": what, "channel": channel}
            )
            sent.append(f"{incident.key} {what} {channel}")
    finally:
        Incident.objects.filter(pk=incident_id).update(
            claimed_until=None, last_error="\n".join(errors)[:4000]
        )
    return sent


def _owed(incident: Incident, *, now: datetime) -> list[tuple[str, str, str]]:
    """(message, channel, the field recording it) still to send for ``incident``."""
    webhook = bool(settings.ALERT_WEBHOOK_URL)
    owed: list[tuple[str, str, str]] = []
    if incident.resolved_at is None:
        if incident.notify_after <= now:
            if incident.notified_at is None:
                owed.append(("alert", "email", "notified_at"))
            if webhook and incident.webhook_notified_at is None:
                owed.append(("alert", "webhook", "webhook_notified_at"))
        return owed
    if incident.notified_at is not None and incident.recovery_notified_at is None:
        owed.append(("recovery", "email", "recovery_notified_at"))
    if webhook and incident.webhook_notified_at is not None and incident.recovery_webhook_notified_at is None:
        owed.append(("recovery", "webhook", "recovery_webhook_notified_at"))
    return owed


def incident_subject(incident: Incident, *, what: str) -> str:
    prefix = "Alert" if what == "alert" else "Resolved"
    return f"[{settings.SITE_NAME}] {prefix}: {incident.title}"


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _facts(details: dict[str, Any]) -> list[str]:
    """The details as "name: value" lines, by name (PostgreSQL's jsonb does not keep key order)."""
    return [
        f"{name.replace('_', ' ')}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for name, value in sorted(details.items())
    ]


def incident_text(incident: Incident, *, what: str) -> str:
    """The email's text: what, since when (or cleared when, after how long), the facts, where to look."""
    if what == "alert":
        lines = [
            incident.title,
            "",
            f"Since:     {_when(incident.opened_at)}",
            f"Last seen: {_when(incident.last_seen_at)}",
            f"Incident:  {incident.key}",
            "",
            *_facts(incident.details),
        ]
    else:
        assert incident.resolved_at is not None
        lasted = max(0, int((incident.resolved_at - incident.opened_at).total_seconds()))
        lines = [
            f"Cleared: {incident.title}",
            "",
            f"Cleared:   {_when(incident.resolved_at)}, after {lasted // 60} min {lasted % 60} s",
            f"Since:     {_when(incident.opened_at)}",
            f"Incident:  {incident.key}",
            "",
            f"As last seen, {_when(incident.last_seen_at)}:",
            *_facts(incident.details),
        ]
    lines += ["", f"All incidents: {settings.SITE_URL}/admin/alerts/incident/"]
    if what == "alert":
        lines.append("You get one more email when this clears.")
    return "\n".join(lines)


def _send_email(incident: Incident, *, what: str) -> None:
    send_mail(
        incident_subject(incident, what=what),
        incident_text(incident, what=what),
        settings.DEFAULT_FROM_EMAIL,
        settings.STAFF_NOTIFICATION_EMAILS,
    )


def _payload(incident: Incident, *, what: str) -> dict[str, Any]:
    return {
        "event": what,  # "alert" or "recovery"
        "key": incident.key,
        "title": incident.title,
        "text": incident_subject(incident, what=what),  # what chat webhooks (Slack, Mattermost) show
        "site": settings.SITE_NAME,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "details": incident.details,
        "url": f"{settings.SITE_URL}/admin/alerts/incident/{incident.pk}/",
    }
