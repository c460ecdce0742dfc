"""alerts.services: one incident and one message per channel however many checks run, one recovery.

Real PostgreSQL; the webhook is a local fake receiver; mail is Django's locmem outbox.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from alerts.checks import Check, Finding
from alerts.models import Incident
from alerts.services import alerts_check

pytestmark = pytest.mark.django_db(transaction=True)


class Switch:
    """A check whose condition a test turns on and off."""

    def __init__(self, *, hold_seconds: float = 0.0) -> None:
        self.on = False
        self.hold_seconds = hold_seconds
        self.broken = False
        self.calls = 0

    def find(self, now: datetime) -> list[Finding]:
        self.calls += 1
        if self.broken:
            raise RuntimeError("cannot tell")
        if not self.on:
            return []
        return [
            Finding(
                key="thing:down",
                title="The thing is down",
                details={"seen": self.calls},
                hold_seconds=self.hold_seconds,
            )
        ]

    def check(self) -> Check:
        return Check(name="thing", prefix="thing:", find=self.find)


def subjects(mailoutbox: list[Any]) -> list[str]:
    return [message.subject for message in mailoutbox]


def test_a_condition_is_one_incident_one_email_and_one_post_then_one_recovery(
    mailoutbox: list[Any], alert_webhook: Any, settings: Any
) -> None:
    switch = Switch()
    switch.on = True
    for _ in range(4):
        alerts_check([switch.check()])

    incident = Incident.objects.get()
    assert incident.key == "thing:down" and incident.is_open and incident.details == {"seen": 4}
    assert subjects(mailoutbox) == ["[Blogorder] Alert: The thing is down"]
    assert mailoutbox[0].to == settings.STAFF_NOTIFICATION_EMAILS
    assert "Incident:  thing:down" in mailoutbox[0].body and "seen: 1" in mailoutbox[0].body
    assert "As last seen" not in mailoutbox[0].body
    assert alert_webhook.events() == [("alert", "thing:down")]
    assert alert_webhook.posts[0]["text"] == "[Blogorder] Alert: The thing is down"

    switch.on = False
    for _ in range(3):
        alerts_check([switch.check()])

    incident.refresh_from_db()
    assert incident.resolved_at is not None and incident.recovery_notified and incident.notified
    assert subjects(mailoutbox) == [
        "[Blogorder] Alert: The thing is down",
        "[Blogorder] Resolved: The thing is down",
    ]
    assert alert_webhook.events() == [("alert", "thing:down"), ("recovery", "thing:down")]

    switch.on = True  # it comes back: a new incident, told again
    alerts_check([switch.check()])
    assert Incident.objects.count() == 2 and len(mailoutbox) == 3


def test_a_held_condition_is_told_only_once_it_has_lasted_and_not_at_all_if_it_cleared_before(
    mailoutbox: list[Any],
) -> None:
    switch = Switch(hold_seconds=120)
    switch.on = True
    start = timezone.now()
    alerts_check([switch.check()], now=start)
    alerts_check([switch.check()], now=start + timedelta(seconds=119))
    assert mailoutbox == [] and Incident.objects.get().is_open

    alerts_check([switch.check()], now=start + timedelta(seconds=121))
    alerts_check([switch.check()], now=start + timedelta(seconds=180))
    assert subjects(mailoutbox) == ["[Blogorder] Alert: The thing is down"]

    switch.on = False
    alerts_check([switch.check()], now=start + timedelta(seconds=200))
    switch.on = True  # a short blip after that: opened, cleared before its hold, never told
    alerts_check([switch.check()], now=start + timedelta(seconds=300))
    switch.on = False
    alerts_check([switch.check()], now=start + timedelta(seconds=330))
    assert len(mailoutbox) == 2 and mailoutbox[1].subject.startswith("[Blogorder] Resolved:")
    blip = Incident.objects.order_by("-opened_at").first()
    assert (
        blip is not None and blip.resolved_at is not None and not blip.notified and not blip.recovery_notified
    )


def test_a_webhook_that_fails_is_logged_and_posted_at_the_next_check_without_a_second_email(
    mailoutbox: list[Any], alert_webhook: Any, caplog: Any
) -> None:
    switch = Switch()
    switch.on = True
    alert_webhook.fail_next(2)
    alerts_check([switch.check()])
    alerts_check([switch.check()])
    assert alert_webhook.posts == [] and len(mailoutbox) == 1
    assert "alert not sent; tried again at the next check" in caplog.text
    assert alert_webhook.url not in caplog.text  # the URL (a chat webhook's secret) is never logged
    assert "HTTP 503" in Incident.objects.get().last_error

    alerts_check([switch.check()])
    alerts_check([switch.check()])
    assert alert_webhook.events() == [("alert", "thing:down")] and len(mailoutbox) == 1


def test_a_slow_webhook_times_out_and_the_email_still_goes(
    mailoutbox: list[Any], alert_webhook: Any, settings: Any
) -> None:
    settings.ALERT_WEBHOOK_TIMEOUT_SECONDS = 1
    alert_webhook.fail_next(1, delay=5)
    switch = Switch()
    switch.on = True
    alerts_check([switch.check()])
    assert len(mailoutbox) == 1 and alert_webhook.posts == []
    assert Incident.objects.get().webhook_notified_at is None


def test_a_check_that_raises_resolves_nothing(mailoutbox: list[Any]) -> None:
    switch = Switch()
    switch.on = True
    alerts_check([switch.check()])
    switch.broken = True
    report = alerts_check([switch.check()])
    assert report.failed_checks == ["thing"] and Incident.objects.get().is_open and len(mailoutbox) == 1


@pytest.mark.postgres
def test_checkers_running_at_once_open_one_incident_and_send_one_email(
    mailoutbox: list[Any], alert_webhook: Any
) -> None:
    switch = Switch()
    switch.on = True
    start = threading.Barrier(6)

    def one_checker(_: int) -> None:
        try:
            start.wait()
            alerts_check([switch.check()])
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(one_checker, range(6)))

    assert Incident.objects.count() == 1
    assert len(mailoutbox) == 1 and alert_webhook.events() == [("alert", "thing:down")]


def test_a_recovery_goes_only_on_the_channels_the_alert_went_on(
    mailoutbox: list[Any], alert_webhook: Any
) -> None:
    switch = Switch()
    switch.on = True
    alert_webhook.fail_next(2)  # the webhook is down while the incident lasts
    alerts_check([switch.check()])
    alerts_check([switch.check()])
    switch.on = False
    alerts_check([switch.check()])  # back up when it clears: no lone recovery to a receiver never alerted
    alerts_check([switch.check()])

    assert alert_webhook.posts == []
    assert subjects(mailoutbox) == [
        "[Blogorder] Alert: The thing is down",
        "[Blogorder] Resolved: The thing is down",
    ]
