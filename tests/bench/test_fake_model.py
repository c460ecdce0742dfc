"""The benchmark's fake model: its answer passes the quality checks, and a realistic one takes its modelled time."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from articles.demo_content import DEMO_ARTICLES
from articles.drafting.backlink import BacklinkBrief, build_messages, evaluate_reply
from bench.fake_model import Handler, Server, modelled_seconds, reply_for


def brief(body: str) -> BacklinkBrief:
    return BacklinkBrief(
        title="t",
        base_body=body,
        anchor_text="memory foam pillows",
        target_url="https://shop.example.com/p",
        customer_notes="",
        rel="sponsored",
    )


@pytest.mark.parametrize("article", DEMO_ARTICLES, ids=lambda a: a["slug"])
def test_the_fake_models_answer_passes_the_quality_checks_on_every_demo_article(
    article: dict[str, str],
) -> None:
    given = brief(article["body"])

    content = reply_for({"messages": build_messages(given, [])})

    assert content is not None
    checked = evaluate_reply(given, content)
    assert checked.ok, checked.failures
    # As a careful writer answers this prompt: one sentence of ordinary length, appended.
    reply = json.loads(content)
    assert reply["mode"] == "append_sentence"
    assert 15 <= len(reply["paragraph"].split()) <= 25


def test_the_fake_model_refuses_a_prompt_that_is_not_a_backlink_brief() -> None:
    assert reply_for({"messages": [{"role": "user", "content": "Write an article about tea."}]}) is None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, object] = json.load(response)
        return answer


def test_a_realistic_answer_takes_half_a_second_plus_its_tokens_at_70_a_second(server: str) -> None:
    post(f"{server}/bench/reset?mode=realistic", {})
    messages = build_messages(brief(DEMO_ARTICLES[0]["body"]), [])

    start = time.monotonic()
    answer = post(f"{server}/v1/chat/completions", {"model": "m", "messages": messages})
    took = time.monotonic() - start

    completion = answer["usage"]["completion_tokens"]  # type: ignore[index]
    assert modelled_seconds(completion) - 0.05 <= took < modelled_seconds(completion) + 1.0
    assert modelled_seconds(completion) == pytest.approx(0.5 + completion / 70)
    with urllib.request.urlopen(f"{server}/bench/stats", timeout=10) as response:
        stats = json.load(response)
    assert stats["calls"] == 1 and stats["completion_tokens"] == completion
