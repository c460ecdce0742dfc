"""The worker command lines production runs (compose, the several-hosts override, ``make run``): the
model queues on ``rqworker_pool --threads``, ``maintenance`` on a forked ``rqworker``, each with RQ's
scheduler, a 60 s worker TTL, the health check and a stop grace above the shutdown grace; and each
line accepted by the real command's own parser (README, "Worker set-ups")."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import load_command_class

from tests.blogorder.test_shutdown_config import HAND_BACK_SECONDS, seconds

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
MODEL_QUEUES = {"article-generation", "backlink-integration"}
WORKER_COMMANDS = {"rqworker": "django_rq", "rqworker_pool": "queueing"}


def with_defaults(text: str) -> str:
    """Compose's ``${VAR:-default}`` interpolation with every variable unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def services(*files: str) -> dict[str, dict[str, Any]]:
    """The services of these compose files, each later file overriding the earlier (as ``-f a -f b``)."""
    merged: dict[str, dict[str, Any]] = {}
    for name in files:
        for service, config in yaml.safe_load(with_defaults((DOCKER / name).read_text()))["services"].items():
            merged.setdefault(service, {}).update(config)
    return merged


def worker_lines(compose: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Each worker service's command as arguments after ``manage.py``."""
    lines = {}
    for name, config in compose.items():
        command = config.get("command", [])
        args = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
        if "manage.py" in args and args[args.index("manage.py") + 1] in WORKER_COMMANDS:
            lines[name] = args[args.index("manage.py") + 1 :]
    return lines


def makefile_lines() -> list[list[str]]:
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    lines = []
    for line in recipe.splitlines():
        args = shlex.split(with_defaults(line.replace("$$", "$")), comments=True)
        if "manage.py" in args and args[args.index("manage.py") + 1] in WORKER_COMMANDS:
            lines.append([arg for arg in args[args.index("manage.py") + 1 :] if arg != "&"])
    return lines


def parsed(args: list[str]) -> dict[str, Any]:
    """``args`` parsed by the real command's own parser (an unknown flag fails here, not in production)."""
    command = load_command_class(WORKER_COMMANDS[args[0]], args[0])
    return vars(command.create_parser("manage.py", args[0]).parse_args(args[1:]))


def check_split(lines: list[list[str]]) -> None:
    """Threads for the model queues, a forked worker for ``maintenance``, every queue covered once."""
    covered: list[str] = []
    for args in lines:
        options = parsed(args)
        queues = set(options.get("queues") or options.get("args") or [])
        covered += queues
        assert options["with_scheduler"] and options["worker_ttl"] == 60, args
        assert not options["burst"], args
        if queues <= MODEL_QUEUES:
            assert args[0] == "rqworker_pool" and options["threads"] >= 1, args
        else:
            assert args[0] == "rqworker" and queues == {"maintenance"}, args
    assert sorted(covered) == sorted(settings.RQ_QUEUES)


@pytest.mark.parametrize(
    "files", [("compose.yaml",), ("compose.yaml", "compose.workers.yaml")], ids=["one-host", "many-hosts"]
)
def test_compose_runs_the_model_queues_on_threads_and_maintenance_on_a_forked_worker(
    files: tuple[str, ...],
) -> None:
    compose = services(*files)
    lines = worker_lines(compose)
    assert set(lines) == {"worker", "worker-maintenance"}
    check_split(list(lines.values()))
    grace = settings.WORKER_SHUTDOWN_GRACE_SECONDS
    for name in lines:
        assert seconds(compose[name]["stop_grace_period"]) >= grace + HAND_BACK_SECONDS, name
        assert compose[name]["healthcheck"]["test"][-1] == "worker_alive", name


def test_make_run_starts_the_same_set_up() -> None:
    check_split(makefile_lines())
