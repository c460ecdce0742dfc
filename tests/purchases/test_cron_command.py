"""The cron process (`manage.py cron`) runs the alert checks itself: with no worker at all, staff
are still told. Real processes on the test database and Redis; mail to files, the webhook to a fake."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import django_rq
import pytest
from django.db import connection
from rq import SimpleWorker

from alerts.models import Incident
from tests.conftest import wait_for

# postgres: the process needs the test database on disk, shared with this one.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("article-generation", "backlink-integration", "maintenance")


def _database_url() -> str:
    s = connection.settings_dict
    return (
        f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


def cron_env(mail_dir: Path, webhook_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "TEST_EMAIL_FILE_PATH": str(mail_dir),
        "ALERT_WEBHOOK_URL": webhook_url,
        **extra,
    }


def sent_subjects(mail_dir: Path) -> list[str]:
    """Subjects of the emails the file backend wrote (one message per separator-delimited block)."""
    subjects = []
    for path in sorted(mail_dir.glob("*.log")):
        for block in path.read_text().split("-" * 79):
            if block.strip():
                message = email.message_from_string(block.strip())
                subjects.append(" ".join(str(message["Subject"]).split()))
    return subjects


def test_the_checker_run_once_without_any_worker_tells_staff_after_the_hold(
    tmp_path: Path, alert_webhook: Any
) -> None:
    env = cron_env(tmp_path, alert_webhook.url, NO_WORKER_ALERT_SECONDS="1")
    command = [sys.executable, "manage.py", "cron", "--once"]

    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert (
        sent_subjects(tmp_path) == [] and Incident.objects.filter(key__startswith="no-worker:").count() == 3
    )

    time.sleep(1.2)
    for _ in range(2):
        again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr

    assert sorted(sent_subjects(tmp_path)) == [
        f"[Blogorder] Alert: No live worker on queue {name} for 1 s" for name in QUEUES
    ]
    assert sorted(alert_webhook.events()) == [("alert", f"no-worker:{name}") for name in QUEUES]
    assert "queue stats" in again.stderr


def test_the_cron_process_enqueues_the_periodic_jobs_and_checks_every_interval_in_process(
    tmp_path: Path, alert_webhook: Any
) -> None:
    env = cron_env(tmp_path, alert_webhook.url, NO_WORKER_ALERT_SECONDS="1", ALERT_CHECK_INTERVAL_SECONDS="1")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "cron"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    maintenance = django_rq.get_queue("maintenance")
    worker = SimpleWorker([django_rq.get_queue(name) for name in QUEUES], connection=maintenance.connection)
    try:
        # As `rqcron blogorder.cron` did: the every-minute jobs go on the maintenance queue for a worker.
        wait_for(lambda: maintenance.count >= 3)
        funcs = {job.func_name for job in maintenance.jobs}
        assert {
            "purchases.jobs.reconcile_orders_job",
            "purchases.jobs.writing_service_probe_job",
            "purchases.jobs.scheduled_publish_due_job",
        } <= funcs
        # No worker anywhere: the process itself notices, after the 1 s hold.
        wait_for(lambda: len(alert_webhook.posts) >= 3)
        assert sorted(alert_webhook.events()) == [("alert", f"no-worker:{name}") for name in QUEUES]

        worker.register_birth()
        worker.heartbeat()
        wait_for(lambda: len(alert_webhook.posts) >= 6)
        assert sorted(alert_webhook.events()[3:]) == [("recovery", f"no-worker:{name}") for name in QUEUES]
        time.sleep(2.5)  # more turns of the loop: nothing more is sent
        assert len(alert_webhook.posts) == 6
        assert sorted(sent_subjects(tmp_path)) == sorted(
            [f"[Blogorder] Alert: No live worker on queue {name} for 1 s" for name in QUEUES]
            + [f"[Blogorder] Resolved: No live worker on queue {name} for 1 s" for name in QUEUES]
        )
    finally:
        worker.register_death()
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert stderr.count("queue stats") >= 3 and "shutdown complete" in stderr
