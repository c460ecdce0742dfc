"""Who writes a draft: one writer chosen from settings, the model or the offline writer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from articles.drafting.article import ArticleBrief
from articles.drafting.backlink import BacklinkBrief
from articles.drafting.kinds import ARTICLE, BACKLINK
from articles.offline_writer import OFFLINE_MODEL_NAME
from articles.openai_api import LLMRejected, LLMUnavailable
from articles.writers import CallAllowance, CallCeilingReached, ModelWriter, OfflineWriter, get_writer
from tests.factories import ANCHOR, ARTICLE_BODY, KEYWORDS, WORDS, article_reply

BRIEF = BacklinkBrief(
    title="T",
    base_body=ARTICLE_BODY,
    anchor_text=ANCHOR,
    target_url="https://shop.example-store.com/pillows",
    customer_notes="",
    rel="sponsored",
)
ARTICLE_BRIEF = ArticleBrief(
    topic="Choosing a pillow for side sleepers",
    keywords=KEYWORDS,
    anchor_text=ANCHOR,
    target_url="https://shop.example-store.com/pillows",
    customer_notes="",
    word_count=WORDS,
    rel="sponsored",
)
GOOD_PARAGRAPH = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches in the morning, [[memory foam pillows]] can help keep your spine "
        "aligned through the night.",
    }
)


def test_without_an_api_key_the_offline_writer_is_chosen_once(settings: Any) -> None:
    settings.OPENAI_API_KEY = ""

    writer = get_writer()

    assert isinstance(writer, OfflineWriter)
    assert writer.name == OFFLINE_MODEL_NAME
    assert get_writer() is writer


def test_with_an_api_key_the_model_writer_is_chosen_and_named_after_the_model(fake_openai: Any) -> None:
    writer = get_writer()

    assert isinstance(writer, ModelWriter)
    assert writer.name == "openai:gpt-test"
    assert get_writer() is writer


def test_changing_the_key_in_a_test_changes_the_writer(fake_openai: Any, settings: Any) -> None:
    assert isinstance(get_writer(), ModelWriter)

    settings.OPENAI_API_KEY = ""

    assert isinstance(get_writer(), OfflineWriter)


def test_the_offline_writer_answers_each_kind_through_its_contract(settings: Any) -> None:
    settings.OPENAI_API_KEY = ""

    backlink_reply = get_writer().ask(BACKLINK, BRIEF, [])
    article_reply_ = get_writer().ask(ARTICLE, ARTICLE_BRIEF, [])

    assert BACKLINK.evaluate(BRIEF, backlink_reply.content).ok
    assert ARTICLE.evaluate(ARTICLE_BRIEF, article_reply_.content).ok
    assert backlink_reply.model == article_reply_.model == OFFLINE_MODEL_NAME


def test_the_model_writer_sends_the_kinds_prompt_and_reply_schema(fake_openai: Any) -> None:
    fake_openai.script(GOOD_PARAGRAPH, article_reply())

    get_writer().ask(BACKLINK, BRIEF, [["link_mark: missing"]])
    get_writer().ask(ARTICLE, ARTICLE_BRIEF, [])

    formats = [request["response_format"]["json_schema"] for request in fake_openai.requests]
    assert [(f["name"], f["schema"], f["strict"]) for f in formats] == [
        ("backlink_paragraph", BACKLINK.schema, True),
        ("sponsored_article", ARTICLE.schema, True),
    ]
    assert fake_openai.requests[0]["messages"] == BACKLINK.messages(BRIEF, [["link_mark: missing"]])


def test_the_model_writer_waits_out_transient_errors_within_one_ask(fake_openai: Any) -> None:
    fake_openai.script({"status": 429, "headers": {"Retry-After": "0"}}, {"status": 503}, GOOD_PARAGRAPH)

    reply = get_writer().ask(BACKLINK, BRIEF, [])

    assert reply.content == GOOD_PARAGRAPH
    assert len(fake_openai.requests) == 3


def test_the_model_writer_gives_up_after_its_transient_retries(fake_openai: Any, settings: Any) -> None:
    settings.LLM_TRANSIENT_RETRIES = 1
    settings.LLM_BACKOFF_BASE_SECONDS = 0
    fake_openai.default = lambda request: {"status": 503}

    with pytest.raises(LLMUnavailable):
        get_writer().ask(BACKLINK, BRIEF, [])
    assert len(fake_openai.requests) == 2


def test_one_call_allowance_bounds_every_ask_of_a_try_retries_included(
    fake_openai: Any, settings: Any
) -> None:
    settings.LLM_TRANSIENT_RETRIES = 4
    fake_openai.default = lambda request: {"status": 500}
    calls = CallAllowance(left=3)

    with pytest.raises(LLMUnavailable):
        get_writer().ask(BACKLINK, BRIEF, [], calls=calls)
    assert len(fake_openai.requests) == 3  # not the 5 the retries alone would make
    with pytest.raises(CallCeilingReached):
        get_writer().ask(BACKLINK, BRIEF, [], calls=calls)
    assert len(fake_openai.requests) == 3


def test_the_model_writer_needs_the_prompt_and_the_longest_reply_offline_needs_nothing(
    fake_openai: Any,
) -> None:
    needed = get_writer().tokens_needed(BACKLINK, BRIEF, [])
    prompt_chars = sum(len(m["content"]) for m in BACKLINK.messages(BRIEF, []))
    assert needed >= prompt_chars // 4 + BACKLINK.reply_tokens(BRIEF)
    assert OfflineWriter().tokens_needed(BACKLINK, BRIEF, []) == 0


def test_the_model_writer_does_not_retry_a_rejected_request(fake_openai: Any) -> None:
    fake_openai.default = lambda request: {"status": 400}

    with pytest.raises(LLMRejected):
        get_writer().ask(BACKLINK, BRIEF, [])
    assert len(fake_openai.requests) == 1


def test_a_whole_article_gets_the_longer_timeout(fake_openai: Any, settings: Any) -> None:
    settings.OPENAI_TIMEOUT_SECONDS = 0.3
    settings.OPENAI_ARTICLE_TIMEOUT_SECONDS = 5
    settings.LLM_TRANSIENT_RETRIES = 0
    fake_openai.default = lambda request: {"delay": 0.8, "then": article_reply()}

    assert get_writer().ask(ARTICLE, ARTICLE_BRIEF, []).content == article_reply()
    with pytest.raises(LLMUnavailable):
        get_writer().ask(BACKLINK, BRIEF, [])
