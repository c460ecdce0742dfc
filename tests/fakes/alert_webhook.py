"""A fake alert webhook receiver (a chat or paging service): records each JSON POST, can fail."""

from __future__ import annotations

import json
import threading
from typing import Any

from ._base import FakeHTTPServer, FakeRequest, FakeResponse


class FakeAlertWebhook(FakeHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []
        self._fail_next = 0
        self._delay = 0.0
        self._lock = threading.Lock()

    def fail_next(self, times: int = 1, *, delay: float = 0.0) -> None:
        """The next ``times`` POSTs answer 503 (after ``delay`` seconds: a slow service)."""
        self._fail_next, self._delay = times, delay

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            if self._fail_next:
                self._fail_next -= 1
                return FakeResponse(503, {"error": "unavailable"}, delay=self._delay)
            self.posts.append(json.loads(request.body))
        return FakeResponse(200, {"ok": True})

    def events(self) -> list[tuple[str, str]]:
        """(event, key) of every POST received, in order."""
        return [(post["event"], post["key"]) for post in self.posts]
