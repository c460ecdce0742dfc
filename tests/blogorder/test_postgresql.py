"""blogorder/postgresql: a kept connection's health check reads its socket instead of asking the
server, and still replaces a connection the server ended before a request uses it."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection, connections

from blogorder.postgresql.base import has_input

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the check is the PostgreSQL backend's"),
]


@pytest.fixture
def kept() -> Iterator[Any]:
    """A second connection to the test database, as a web process keeps one between requests."""
    wrapper = type(connections["default"])(copy.deepcopy(connection.settings_dict), alias="kept")
    wrapper.health_check_enabled = True  # type: ignore[attr-defined]
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


@pytest.fixture
def server() -> Iterator[psycopg.Connection[Any]]:
    """A third connection that watches and ends the others, as an operator or a restart would."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


def last_statement(server: psycopg.Connection[Any], pid: int) -> str:
    row = server.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None, f"backend {pid} is gone"
    return str(row[0])


def test_an_idle_kept_connection_is_found_usable_without_a_statement(kept: Any, server: Any) -> None:
    with kept.cursor() as cursor:
        cursor.execute("SELECT 'the request before'")
    pid = kept.connection.info.backend_pid

    kept.health_check_done = False  # a new request (close_old_connections)
    kept.close_if_health_check_failed()

    assert kept.connection is not None and kept.connection.info.backend_pid == pid
    assert last_statement(server, pid) == "SELECT 'the request before'"


def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(kept: Any, server: Any) -> None:
    pid = kept.connection.info.backend_pid
    socket = kept.connection.fileno()
    server.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while not has_input(socket) and time.monotonic() < deadline:  # the server's goodbye arrives
        time.sleep(0.01)

    kept.health_check_done = False  # a new request (close_old_connections)
    kept.close_if_health_check_failed()

    assert kept.connection is None, "the ended connection was kept for the request"
    with kept.cursor() as cursor:  # the request's first statement opens a new one
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_in_a_transaction_the_server_is_asked(kept: Any, server: Any) -> None:
    """Only an idle connection is judged by its socket; anything else runs Django's SELECT 1."""
    pid = kept.connection.info.backend_pid
    kept.set_autocommit(False)
    with kept.cursor() as cursor:
        cursor.execute("SELECT 'inside a transaction'")

    assert kept.is_usable()
    assert last_statement(server, pid) == "SELECT 1"
    kept.rollback()
    kept.set_autocommit(True)
