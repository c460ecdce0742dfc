"""A local fake of the OpenAI Chat Completions API, for running the real ``openai`` library in tests.

Emulated: ``POST /v1/chat/completions`` (non-streaming) returning ``chat.completion`` objects,
``Authorization: Bearer <anything non-empty>`` (401 otherwise), OpenAI's error shape
``{"error": {"message", "type", "param", "code"}}``, arbitrary status codes/headers (e.g. 429 +
``Retry-After``) and slow answers. Use ``openai.OpenAI(api_key=..., base_url=f"{fake.url}/v1")``.

Replies are scripted; a reply is one of

* ``str`` -- assistant message content, wrapped into a ``chat.completion`` (model echoed,
  ``finish_reason="stop"``, made-up ``usage`` of roughly one token per 4 characters);
* ``{"content": str | None, "finish_reason"?: str, "refusal"?: str, "usage"?: dict}`` -- same, with
  overrides (``usage`` keys are merged over the made-up counts);
* ``{"status": int, "headers"?: dict, "body"?: dict | str | bytes}`` -- raw answer; a non-2xx
  status without ``body`` gets a default OpenAI error body;
* ``{"delay": seconds, "then": reply}`` -- wait, then answer (``stop()`` drops it unanswered);
* a callable ``(request_json) -> reply``.

Calls in flight: ``in_flight`` counts the requests being handled now and ``max_in_flight`` the
most ever at once; ``call_seconds`` makes every request take that long while counted in flight
(a scripted reply's own ``delay`` is served after it, uncounted).

Not emulated: streaming (``stream=true`` is a 400), tools/function calls (script a raw body
instead), ``n > 1``, logprobs, validation of the request against ``response_format``, other
endpoints (404). The client's own retries consume scripted replies like any other request.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from ._base import FakeHTTPServer, FakeRequest, FakeResponse

Reply: TypeAlias = "str | Mapping[str, Any] | Callable[[dict[str, Any]], Reply]"

_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("invalid_request_error", "conflict"),
    429: ("requests", "rate_limit_exceeded"),
}


def openai_error(status: int, message: str | None = None, code: str | None = None) -> dict[str, Any]:
    """An error body shaped like the real API's."""
    kind, default_code = _ERROR_KINDS.get(status, ("server_error", None))
    return {
        "error": {
            "message": message or f"Simulated error (HTTP {status}).",
            "type": kind,
            "param": None,
            "code": code or default_code,
        }
    }


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def no_script(request_json: dict[str, Any]) -> Reply:
    """Initial ``default``: a loud, non-retryable 500 so unscripted calls fail the test."""
    message = "FakeOpenAI: no scripted reply left and no default responder set"
    return {"status": 500, "headers": {"x-should-retry": "false"}, "body": openai_error(500, message)}


class FakeOpenAI(FakeHTTPServer):
    """Fake OpenAI server with a queue of scripted replies and a fallback ``default`` responder."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []  # parsed JSON bodies, in arrival order
        self.request_headers: list[dict[str, str]] = []  # lower-cased names, parallel to .requests
        self.default: Callable[[dict[str, Any]], Reply] = no_script
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.call_seconds = 0.0
        self.in_flight = 0
        self.max_in_flight = 0

    def script(self, *replies: Reply) -> FakeOpenAI:
        """Queue replies; each request consumes one, in order. Returns ``self`` for chaining."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Number of scripted replies not consumed yet."""
        return len(self._queue)

    def reset(self) -> None:
        """Forget recorded requests and pending replies; restore the default responder."""
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()
            self._queue.clear()
            self.default = no_script
            self.call_seconds = 0.0
            self.in_flight = self.max_in_flight = 0

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.call_seconds:
                self._stopping.wait(self.call_seconds)
            return self._handle(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle(self, request: FakeRequest) -> FakeResponse:
        try:
            body: Any = json.loads(request.body or b"null")
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(body if isinstance(body, dict) else {"_raw": request.body.decode("latin-1")})
            self.request_headers.append(request.headers)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            message = "You didn't provide an API key. Provide it in an Authorization header (Bearer auth)."
            body = openai_error(401, message)
            body["error"]["code"] = None  # the real API sends no code when the key is missing
            return FakeResponse(401, body)
        if (request.method, request.path) != ("POST", "/v1/chat/completions"):
            message = f"Invalid URL ({request.method} {request.path})"
            return FakeResponse(404, openai_error(404, message, "unknown_url"))
        if not isinstance(body, dict):
            return FakeResponse(400, openai_error(400, "We could not parse the JSON body of your request."))
        if body.get("stream"):
            return FakeResponse(400, openai_error(400, "FakeOpenAI does not emulate streaming."))
        with self._lock:
            reply: Reply = self._queue.popleft() if self._queue else self.default
        return self._render(reply, body)

    def _render(self, reply: Reply, request_json: dict[str, Any], delay: float = 0.0) -> FakeResponse:
        if callable(reply):
            return self._render(reply(request_json), request_json, delay)
        if isinstance(reply, str):
            reply = {"content": reply}
        if "delay" in reply:
            return self._render(reply["then"], request_json, delay + float(reply["delay"]))
        if "status" in reply:
            status = int(reply["status"])
            body = reply.get("body")
            if body is None and not 200 <= status < 300:
                body = openai_error(status)
            headers = {"x-request-id": f"req_{secrets.token_hex(16)}", **reply.get("headers", {})}
            return FakeResponse(status, body, headers, delay)
        if "content" in reply:
            return FakeResponse(200, self._completion(reply, request_json), self._headers(), delay)
        raise ValueError(f"FakeOpenAI: cannot interpret scripted reply {reply!r}")

    @staticmethod
    def _headers() -> dict[str, str]:
        return {
            "x-request-id": f"req_{secrets.token_hex(16)}",
            "openai-processing-ms": "42",
            "openai-version": "2020-10-01",
        }

    @staticmethod
    def _completion(reply: Mapping[str, Any], request_json: dict[str, Any]) -> dict[str, Any]:
        content: str | None = reply["content"]
        prompt = (
            sum(
                4
                + _tokens(m["content"] if isinstance(m.get("content"), str) else json.dumps(m.get("content")))
                for m in request_json.get("messages") or []
                if isinstance(m, dict)
            )
            + 3
        )
        completion = _tokens(content or reply.get("refusal") or "")
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        override = dict(reply.get("usage") or {})
        usage.update(override)
        if "total_tokens" not in override:
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return {
            "id": f"chatcmpl-{secrets.token_urlsafe(21)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request_json.get("model", "unknown"),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": reply.get("refusal"),
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": reply.get("finish_reason", "stop"),
                }
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
