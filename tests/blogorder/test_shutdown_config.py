"""Compose's stop grace periods leave room for each process's own graceful shutdown (README, "Shutdown")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
HAND_BACK_SECONDS = 10  # killing the work horse and putting its job back takes well under this


def seconds(duration: str) -> int:
    """A compose duration such as ``75s``, ``1m30s`` or ``2m``, in seconds."""
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    return int(parts.group(1) or 0) * 60 + int(parts.group(2) or 0)


def service(name: str) -> dict[str, Any]:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return dict(compose["services"][name])


def gunicorn_graceful_timeout() -> int:
    line = next(line for line in (DOCKER / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    command = json.loads(line.removeprefix("CMD "))
    return int(command[command.index("--graceful-timeout") + 1])


def test_docker_gives_a_stopping_worker_its_grace_and_the_hand_back_before_it_kills_it() -> None:
    grace = settings.WORKER_SHUTDOWN_GRACE_SECONDS
    assert seconds(service("worker")["stop_grace_period"]) >= grace + HAND_BACK_SECONDS
    # A deploy does not wait out a whole job: the grace is well under the job timeout.
    assert grace < settings.RQ_JOB_TIMEOUT_SECONDS


def test_docker_lets_gunicorn_drain_requests_in_flight_before_it_kills_the_web() -> None:
    assert seconds(service("web")["stop_grace_period"]) > gunicorn_graceful_timeout()
