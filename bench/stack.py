"""The production stack of the benchmark, started and stopped by the harness.

Processes: a private ``redis-server``, the fake model (``bench.fake_model``), gunicorn, and the
worker command; each in its own session so it and its children are stopped by its own id.
The database is dedicated (its name must contain ``bench``): dropped, created and migrated.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def wait_for(check: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def memory_kb(pids: list[int]) -> dict[str, int]:
    """Summed ``Rss`` and ``Pss`` (kB) of ``smaps_rollup`` over the given processes and their children."""
    total = {"rss_kb": 0, "pss_kb": 0, "processes": 0}
    seen: set[int] = set()
    for root in pids:
        for pid in descendants(root):
            if pid in seen:
                continue
            seen.add(pid)
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            total["processes"] += 1
            for line in lines:
                if line.startswith("Rss:"):
                    total["rss_kb"] += int(line.split()[1])
                elif line.startswith("Pss:"):
                    total["pss_kb"] += int(line.split()[1])
    return total


@dataclass
class Stack:
    database_url: str
    redis_port: int
    web_port: int
    model_port: int
    web_command: str
    worker_command: str
    log_dir: Path
    # Started with the workers, once, whatever the jobs in flight ("" for none): production's own
    # worker for the ``maintenance`` queue (receipts, digests, the reconciler), so the model
    # workers measured do only model work, as in production.
    maintenance_command: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    maintenance: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def site_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def model_url(self) -> str:
        return f"http://127.0.0.1:{self.model_port}"

    def env(self) -> dict[str, str]:
        """The environment of every process: production settings (``bench``), this stack's services.

        The provider limits are set for the bench, explicitly: up to 64 calls in flight, no request
        or token budget per minute, so the fake model's speed and the workers are what is measured.
        The order-read throttle (``RATE_LIMIT_LOOKUP``, per client address) is raised past any figure.
        """
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_", "OPENAI_", "LLM_"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "blogorder.settings.bench",
                "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SITE_URL": self.site_url,
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "OPENAI_API_KEY": "sk-bench-fake",
                "OPENAI_BASE_URL": f"{self.model_url}/v1",
                "OPENAI_MODEL": "bench-fake",
                "LLM_MAX_CONCURRENT_CALLS": "64",
                "LLM_REQUESTS_PER_MINUTE": "off",
                "LLM_TOKENS_PER_MINUTE": "off",
                # Every load-client connection comes from 127.0.0.1: 64 pollers there would be 64 addresses.
                # The throttle still counts each request in Redis; it just never refuses one.
                "RATE_LIMIT_LOOKUP": "1000000/min",
                "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
                "LOG_LEVEL": env_get("LOG_LEVEL", "WARNING"),
                "PYTHONPATH": str(ROOT),
            }
        )
        return env

    def _spawn(self, name: str, command: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        return subprocess.Popen(
            shlex.split(command.replace("{python}", PYTHON)),
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def manage(self, *args: str) -> None:
        subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(), check=True, stdout=subprocess.DEVNULL
        )

    def recreate_database(self) -> None:
        url = urlparse(self.database_url)
        name = url.path.lstrip("/")
        if "bench" not in name:
            raise SystemExit(f"refusing to drop database {name!r}: a bench database's name contains 'bench'")
        admin = url._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def start(self, *, articles: int, slots: int) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes["redis"] = self._spawn(
            "redis",
            f"redis-server --bind 127.0.0.1 --port {self.redis_port} --save '' --appendonly no",
        )
        self.processes["model"] = self._spawn("model", f"{{python}} -m bench.fake_model {self.model_port}")
        self.recreate_database()
        self.manage("migrate", "--noinput")
        self.manage("seed_demo", "--no-admin", "--articles", str(articles), "--slots", str(slots))
        self.manage("collectstatic", "--noinput")
        self.processes["web"] = self._spawn("web", self.web_command.replace("{port}", str(self.web_port)))
        wait_for(lambda: self.http_get("/healthz")[0] == 200, timeout=60, what="gunicorn /healthz")
        wait_for(lambda: self.model_stats() is not None, timeout=20, what="the fake model")

    def http_get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.site_url + path, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    def model_reset(self, mode: str) -> None:
        request = urllib.request.Request(f"{self.model_url}/bench/reset?mode={mode}", data=b"", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def model_stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.model_url}/bench/stats", timeout=30) as response:
            stats: dict[str, Any] = json.load(response)
            return stats

    def start_workers(self, count: int) -> None:
        """``count`` jobs in flight: one process per CPU with ``{per_cpu}`` replaced by its share of them,
        one process with ``{n}`` replaced, or else ``count`` processes of the command."""
        if "{per_cpu}" in self.worker_command:  # one process per CPU, the jobs in flight split between them
            cpus = min(os.cpu_count() or 1, count)
            shares = [count // cpus + (1 if i < count % cpus else 0) for i in range(cpus)]
            self.workers = [
                self._spawn(f"worker-{i}", self.worker_command.replace("{per_cpu}", str(share)))
                for i, share in enumerate(shares)
            ]
        elif "{n}" in self.worker_command:
            self.workers = [self._spawn("worker", self.worker_command.replace("{n}", str(count)))]
        else:
            self.workers = [self._spawn(f"worker-{i}", self.worker_command) for i in range(count)]
        if self.maintenance_command:
            self.maintenance = [self._spawn("worker-maintenance", self.maintenance_command)]

    def stop_workers(self) -> None:
        for process in self.workers + self.maintenance:
            stop(process)
        self.workers = []
        self.maintenance = []

    def web_pids(self) -> list[int]:
        return [self.processes["web"].pid]

    def worker_pids(self) -> list[int]:
        """The model workers' processes (those that scale with the jobs in flight)."""
        return [p.pid for p in self.workers]

    def maintenance_pids(self) -> list[int]:
        return [p.pid for p in self.maintenance]

    def stop(self) -> None:
        self.stop_workers()
        for name in ("web", "model", "redis"):
            if name in self.processes:
                stop(self.processes.pop(name))


def env_get(name: str, default: str) -> str:
    return os.environ.get(name) or default


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to the process's own session (it and its children), SIGKILL past ``timeout``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
