"""Shared plumbing for the local fake HTTP servers (stdlib only).

A fake subclasses :class:`FakeHTTPServer` and implements ``handle(request) -> FakeResponse``.
The server binds ``127.0.0.1`` on a free port, serves each request on its own daemon thread
and can be used as a context manager or via ``start()`` / ``stop()``.
"""

from __future__ import annotations

import json
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit


@dataclass(frozen=True)
class FakeRequest:
    """An incoming request. Header names are lower-cased."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    connection: str = ""  # the client's address and port: one per TCP connection


@dataclass
class FakeResponse:
    """What the fake answers. ``body`` may be a JSON-able object, ``str`` or ``bytes``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering; cut short by stop()

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class FakeHTTPServer:
    """Base class: lifecycle, threading and HTTP plumbing. Subclasses implement ``handle``."""

    def __init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.errors: list[str] = []  # tracebacks of exceptions raised inside the fake itself

    def handle(self, request: FakeRequest) -> FakeResponse:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{type(self).__name__}-server",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on a `delay`
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _respond(self, request: FakeRequest) -> FakeResponse:
        try:
            return self.handle(request)
        except Exception:
            tb = traceback.format_exc()
            self.errors.append(tb)
            return FakeResponse(500, {"error": {"message": f"fake server crashed:\n{tb}"}})


def _make_handler(fake: FakeHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY: http.server sends the headers and the body apart, and with Nagle's algorithm
        # the body waits ~40 ms for the client's delayed ACK: every fake call cost that much.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = FakeRequest(
                method=self.command,
                path=parts.path,
                query=parts.query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                connection=f"{self.client_address[0]}:{self.client_address[1]}",
            )
            response = fake._respond(request)
            if response.delay > 0 and fake._stopping.wait(response.delay):
                self.close_connection = True
                return  # server is stopping: drop the request without answering
            payload = response.encoded()
            try:
                self.send_response(response.status)
                headers = {"Content-Type": "application/json", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # client gave up (e.g. its timeout fired)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
