"""The benchmark's load client: a closed loop keeps the server busy; an open loop sends at the rate
given and counts each latency from the moment its request was due (no coordinated omission)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.loadclient import run

DELAY = 0.1  # seconds the fake server takes to answer


class SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(DELAY)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("X-Bench-Queries", "2")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
        pass


@pytest.fixture
def slow_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def spec(port: int, *, requests: int, concurrency: int, rate: float | None = None) -> dict[str, object]:
    given: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "concurrency": concurrency,
        "requests": [{"path": "/"}] * requests,
    }
    if rate is not None:
        given["rate"] = rate
    return given


def test_a_closed_loop_counts_each_request_from_its_sending(slow_server: int) -> None:
    result = asyncio.run(run(spec(slow_server, requests=10, concurrency=1)))

    assert result["statuses"] == {"200": 10}
    assert result["queries"] == [2] * 10
    # One at a time, each waits only for itself: about DELAY each, however many came before.
    assert max(result["latencies_ms"]) < 10 * DELAY * 1000 / 2


def test_an_open_loop_counts_the_wait_for_a_free_connection_from_when_the_request_was_due(
    slow_server: int,
) -> None:
    # Due every 10 ms, answered one at a time in 100 ms: the tenth was due at 90 ms and is
    # answered at 1,000 ms at the earliest, and that whole wait is its latency.
    result = asyncio.run(run(spec(slow_server, requests=10, concurrency=1, rate=100)))

    assert result["statuses"] == {"200": 10}
    assert max(result["latencies_ms"]) >= (10 * DELAY - 0.09) * 1000 - 5


def test_an_open_loop_sends_no_faster_than_its_rate(slow_server: int) -> None:
    # Ten requests at 20/s: the last is due at 450 ms, so the run lasts at least that long even
    # with a connection free for every request (a closed loop would be done in about 100 ms).
    result = asyncio.run(run(spec(slow_server, requests=10, concurrency=10, rate=20)))

    assert result["statuses"] == {"200": 10}
    assert result["elapsed"] >= 0.45 + DELAY - 0.01
    # Each was sent when due and found a free connection: about DELAY each.
    assert max(result["latencies_ms"]) < 10 * DELAY * 1000 / 2
