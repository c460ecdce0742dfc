"""Redis through Sentinel: the settings build django-rq's SENTINELS/MASTER_NAME from the environment, and
RQ, the cache and the provider limits all reach the master a real Sentinel names."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from blogorder.settings.env import BASE_DIR
from tests.blogorder.test_settings import deploy_env

SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
queues = {name: {**cfg, "CONNECTION_KWARGS": {k: v.__qualname__ for k, v in cfg.get("CONNECTION_KWARGS", {}).items()}}
          for name, cfg in settings.RQ_QUEUES.items()}
print(json.dumps({"queues": queues, "cache": settings.CACHES["default"]}))
"""

USE_EVERY_CLIENT = """
import sys, django
django.setup()
import django_rq
from django.core.cache import cache
from blogorder.redis_client import redis_connection
tag = sys.argv[1]
django_rq.get_connection("maintenance").set(f"{tag}:rq", "1")
cache.set(f"{tag}:cache", "1")
redis_connection().set(f"{tag}:limits", "1")
"""


def python(code: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_settings_build_rq_queues_through_sentinel_from_the_environment() -> None:
    env = deploy_env(
        REDIS_URL="redis://:s3cret@ignored-host:6379/3",
        REDIS_SENTINELS="10.0.0.5:26379, sentinel-b.internal:26380",
        REDIS_SENTINEL_MASTER="blogorder",
    )
    result = python(SHOW_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])

    for name in ("article-generation", "backlink-integration", "maintenance"):
        queue = shown["queues"][name]
        assert "URL" not in queue  # django-rq would use URL first and never ask Sentinel
        assert queue["SENTINELS"] == [["10.0.0.5", 26379], ["sentinel-b.internal", 26380]]
        assert (queue["MASTER_NAME"], queue["DB"], queue["PASSWORD"]) == ("blogorder", 3, "s3cret")
        assert queue["CONNECTION_KWARGS"] == {"connection_class": "SentinelConnection"}
    assert shown["cache"]["OPTIONS"]["pool_class"] == "blogorder.redis_client.SentinelMasterPool"
    assert shown["cache"]["OPTIONS"]["master_name"] == "blogorder"


def test_without_sentinels_every_queue_uses_redis_url() -> None:
    result = python(SHOW_SETTINGS, env=deploy_env(REDIS_URL="redis://redis:6379/0"))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert {cfg["URL"] for cfg in shown["queues"].values()} == {"redis://redis:6379/0"}
    assert not any("SENTINELS" in cfg for cfg in shown["queues"].values())
    assert shown["cache"]["OPTIONS"] == {}


def test_a_bad_sentinel_address_refuses_to_start() -> None:
    result = python(SHOW_SETTINGS, env=deploy_env(REDIS_SENTINELS="10.0.0.5"))
    assert result.returncode != 0
    assert "REDIS_SENTINELS: '10.0.0.5' is not host:port" in result.stderr


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[tuple[str, redis.Redis]]:
    """A real Redis Sentinel watching the test Redis as master ``blogorder``; yields its address."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    master = redis.Redis.from_url(django_settings.REDIS_URL)
    kwargs = master.connection_pool.connection_kwargs
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel monitor blogorder {kwargs['host']} {kwargs['port']} 1\n"
    )
    process = subprocess.Popen(
        ["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.sentinel_get_master_addr_by_name("blogorder"):
                    break
            except redis.ConnectionError:
                pass
            time.sleep(0.1)
        yield f"127.0.0.1:{port}", master
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_rq_the_cache_and_the_provider_limits_reach_the_master_sentinel_names(
    sentinel: tuple[str, redis.Redis],
) -> None:
    address, master = sentinel
    # The host in REDIS_URL is never asked: only its database number (and password) are used.
    db = master.connection_pool.connection_kwargs.get("db", 0)
    env = deploy_env(REDIS_URL=f"redis://no-such-host:1/{db}", REDIS_SENTINELS=address)
    env["REDIS_SENTINEL_MASTER"] = "blogorder"
    tag = f"sentinel-probe-{os.getpid()}"

    result = python(USE_EVERY_CLIENT, tag, env=env)

    assert result.returncode == 0, result.stderr
    assert master.get(f"{tag}:rq") == b"1"
    assert master.get(f"{tag}:limits") == b"1"
    assert master.get(f"blogorder-cache:1:{tag}:cache") is not None
    master.delete(f"{tag}:rq", f"{tag}:limits", f"blogorder-cache:1:{tag}:cache")


def test_a_worker_through_sentinel_stops_cleanly_on_sigterm(sentinel: tuple[str, redis.Redis]) -> None:
    address, master = sentinel
    db = master.connection_pool.connection_kwargs.get("db", 0)
    env = deploy_env(REDIS_URL=f"redis://no-such-host:1/{db}", REDIS_SENTINELS=address)
    env["REDIS_SENTINEL_MASTER"] = "blogorder"
    name = f"sentinel-worker-{os.getpid()}"
    worker = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "rqworker", "maintenance", "--name", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not master.exists(f"rq:worker:{name}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert master.exists(f"rq:worker:{name}")
        time.sleep(0.5)  # blocked in its BLPOP for work
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert "Traceback" not in output
    assert master.hget(f"rq:worker:{name}", "death")  # it said goodbye: its death is registered
    assert name.encode() not in master.smembers("rq:workers")


def test_the_apps_redis_clients_parse_replies_in_c() -> None:
    """hiredis is installed with the app, so redis-py parses every reply (RQ's job hashes on each
    status poll, the rate limit's, the cache's) in C instead of its pure-Python RESP parser."""
    from django.core.cache import cache
    from redis.utils import HIREDIS_AVAILABLE

    from queueing.connections import rq_connection

    clients = {"rq": rq_connection("maintenance"), "cache": cache._cache.get_client()}  # type: ignore[attr-defined]
    assert HIREDIS_AVAILABLE
    for name, client in clients.items():
        connection = client.connection_pool.get_connection()
        try:
            assert type(connection._parser).__name__ == "_HiredisParser", name
        finally:
            client.connection_pool.release(connection)
