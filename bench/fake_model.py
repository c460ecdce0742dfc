"""A fake OpenAI Chat Completions server for the benchmark: ``python -m bench.fake_model PORT``.

It answers a backlink brief the way a careful writer answers the prompt of
``articles/drafting/backlink.py``, which asks first for mode ``append_sentence``: ONE sentence
carrying ``[[anchor]]``, appended to the first paragraph the prompt does not tag "do not append"
(the article's opening prose in every demo article). The sentence is the first of the two this fake
wrote before as a new paragraph, unchanged: 19 words and 114 characters with the bench's 3-word
anchor, ordinary prose (the demo articles' own sentences average 13-15 words, 75-87 characters,
and a link sentence carries the anchor besides), so its tokens are what a real model would spend,
not the fewest that pass the 8-word minimum. Like a real model, it answers in the contract's JSON,
keys included (66 of the reply's 180 characters). It writes
English whatever the article's language (the German demo article too). Only for a prompt where no
paragraph takes a sentence does it insert a two-sentence paragraph (mode ``insert_after``). The
quality checks pass at the first attempt.

The project does not stream (``articles/openai_api.py``), so a *realistic* reply is held back for the
whole modelled time: 0.5 s to the first token plus ``completion_tokens / 70`` s. ``zero`` answers at
once. Tokens are counted as the test fake does, one per 4 characters (rounded up), into ``usage``.

Control: ``POST /bench/reset?mode=zero|realistic`` (forget the calls), ``GET /bench/stats``
(calls, tokens, modelled seconds, first and last call times as Unix seconds, and per-call records).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

FIRST_TOKEN_SECONDS = 0.5
TOKENS_PER_SECOND = 70.0
SENTENCE = (
    "Readers who want to take this further will find [[{anchor}]] a practical companion to the points above."
)
PARAGRAPH = (
    "Readers who want to take this further will find [[{anchor}]] a practical companion to the points "
    "above. It goes into the kind of hands-on detail that this section can only touch on."
)
_ANCHOR = re.compile(r"Anchor text \(write it as \[\[(.+?)\]\]\)")
_PARAGRAPH = re.compile(r"^<<(\d+)>>(.*)$", re.MULTILINE)


def tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def modelled_seconds(completion_tokens: int) -> float:
    return FIRST_TOKEN_SECONDS + completion_tokens / TOKENS_PER_SECOND


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = "zero"
        self.calls: list[dict[str, Any]] = []

    def reset(self, mode: str) -> None:
        with self.lock:
            self.mode = mode
            self.calls = []

    def stats(self) -> dict[str, Any]:
        with self.lock:
            calls = list(self.calls)
        return {
            "mode": self.mode,
            "calls": len(calls),
            "prompt_tokens": sum(c["prompt_tokens"] for c in calls),
            "completion_tokens": sum(c["completion_tokens"] for c in calls),
            "modelled_seconds": sum(c["modelled_seconds"] for c in calls),
            "first_call_at": min((c["at"] for c in calls), default=None),
            "last_reply_at": max((c["replied_at"] for c in calls), default=None),
            "records": calls,
        }


STATE = State()


def reply_for(request: dict[str, Any]) -> str | None:
    """The JSON content a careful writer would return, or None when the prompt is not a backlink brief."""
    text = "\n".join(m.get("content", "") for m in request.get("messages", []) if isinstance(m, dict))
    anchor = _ANCHOR.search(text)
    if not anchor:
        return None
    numbered = _PARAGRAPH.findall(text)
    takes_a_sentence = [int(i) for i, tag in numbered if "do not append" not in tag]
    if takes_a_sentence:
        sentence = SENTENCE.format(anchor=anchor.group(1))
        return json.dumps(
            {"paragraph_index": takes_a_sentence[0], "mode": "append_sentence", "paragraph": sentence}
        )
    paragraph = PARAGRAPH.format(anchor=anchor.group(1))
    return json.dumps({"paragraph_index": 0, "mode": "insert_after", "paragraph": paragraph})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: http.server writes the headers and the body in two sends, and with Nagle's
    # algorithm the body waits for the client's delayed ACK of the headers (~40 ms on Linux): a
    # "zero-delay" model answered in 46 ms, a stall no real provider adds.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/bench/stats"):
            self._send(200, STATE.stats())
        else:
            self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:  # noqa: N802
        at = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        url = urlparse(self.path)
        if url.path == "/bench/reset":
            STATE.reset(parse_qs(url.query).get("mode", ["zero"])[0])
            self._send(200, {"ok": True})
            return
        if url.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        request = json.loads(raw or b"{}")
        content = reply_for(request)
        if content is None:
            self._send(
                400,
                {"error": {"message": "bench fake: not a backlink brief", "type": "invalid_request_error"}},
            )
            return
        prompt = sum(4 + tokens(str(m.get("content", ""))) for m in request.get("messages", [])) + 3
        completion = tokens(content)
        modelled = modelled_seconds(completion)
        if STATE.mode == "realistic":
            time.sleep(max(0.0, at + modelled - time.time()))
        record = {
            "at": at,
            "replied_at": time.time(),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "modelled_seconds": modelled,
        }
        with STATE.lock:
            STATE.calls.append(record)
        self._send(
            200,
            {
                "id": f"chatcmpl-bench{len(STATE.calls)}",
                "object": "chat.completion",
                "created": int(at),
                "model": request.get("model", "bench-fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
        )


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main() -> None:
    port = int(sys.argv[1])
    Server(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
