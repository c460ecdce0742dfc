"""A new-article draft: its prompt, its assembly, its quality checks and the offline writer (pure, no database)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from articles import offline_writer
from articles.content import extract_links, headings
from articles.drafting.article import (
    NEAR_COPY_THRESHOLD,
    ArticleBrief,
    ArticleDraft,
    PublishedText,
    build_messages,
    evaluate_reply,
    shingles,
    similarity,
)
from articles.drafting.checks import Checked
from tests.factories import ANCHOR, ARTICLE_BODY, KEYWORDS, TITLE, WORDS, article_body, article_reply

URL = "https://shop.example-store.com/pillows"
PUBLISHED_SLEEP = PublishedText.of(ref="sleep-better", body_markdown=ARTICLE_BODY)
# The published sleep article pasted whole (its one editorial link reduced to text).
PASTED = ARTICLE_BODY.split("\n", 1)[1].replace(
    "[sleep foundation](https://www.sleepfoundation.org/)", "sleep foundation"
)


def brief(**overrides: Any) -> ArticleBrief:
    fields: dict[str, Any] = {
        "topic": "Choosing a pillow for side sleepers",
        "keywords": KEYWORDS,
        "anchor_text": ANCHOR,
        "target_url": URL,
        "customer_notes": "",
        "word_count": WORDS,
        "rel": "sponsored",
    }
    fields.update(overrides)
    return ArticleBrief(**fields)


def draft_of(result: Checked[ArticleDraft]) -> ArticleDraft:
    assert result.draft is not None, result.failures
    return result.draft


def test_a_good_article_passes_with_the_title_on_top_and_the_link_filled() -> None:
    result = evaluate_reply(brief(published=(PUBLISHED_SLEEP,)), article_reply())
    assert result.ok, result.failures
    assert draft_of(result).body.startswith(f"# {TITLE}\n\n")
    assert [(link.href, link.text, link.rel) for link in extract_links(draft_of(result).body)] == [
        (URL, ANCHOR, "sponsored")
    ]
    assert set(result.checks.values()) == {"pass"}
    assert draft_of(result).similarity < 0.05


def test_a_title_the_model_repeats_as_a_heading_is_not_doubled() -> None:
    result = evaluate_reply(brief(), article_reply(body=f"# {TITLE}\n\n" + article_body()))
    assert result.ok, result.failures
    assert [level for level, _ in headings(draft_of(result).body)].count(1) == 1


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (article_reply(words=200), "length"),
        (article_reply(words=400), "length"),
        (article_reply(title=""), "title"),
        (article_reply(title="# " + TITLE), "title"),
        (article_reply(title="Line one\nLine two"), "title"),
        (article_reply(headings=2), "headings"),
        (article_reply(body=article_body() + "\n# A second title\n"), "headings"),
        (article_reply(keywords=KEYWORDS[:1]), "keywords"),
        (article_reply(anchor=""), "link_mark"),
        (article_reply(extra=f"Again, [[{ANCHOR}]] are worth it."), "link_mark"),
        (article_reply(extra="Also see [[another shop]] for deals."), "link_mark"),
        (article_reply(extra="Our [pillow guide](/guides/pillows) has more."), "no_other_links"),
        (article_reply(extra="Read <b>this</b> first."), "no_raw_html"),
        (article_reply(extra="<!-- note -->"), "no_raw_html"),
        (article_reply(extra="Visit www.example-store.com for more."), "no_urls"),
        (article_reply(extra="I hope this helps!"), "no_chatter"),
        (article_reply(extra="As an AI, I have no neck."), "no_chatter"),
        (article_reply(extra="Studies show [insert statistic] of adults sleep on their side."), "no_chatter"),
        (article_reply(extra="Lorem ipsum dolor sit amet."), "no_chatter"),
        (article_reply(headings=0, pasted=PASTED), "no_near_copy"),
        ("{not json", "reply_json"),
        (json.dumps({"title": TITLE, "body": article_body(), "notes": ""}), "reply_json"),
        (json.dumps({"title": TITLE, "body": 3}), "reply_json"),
    ],
)
def test_each_broken_article_fails_the_named_check(content: str, rule: str) -> None:
    result = evaluate_reply(brief(published=(PUBLISHED_SLEEP,)), content)
    assert not result.ok
    assert any(failure.startswith(f"{rule}:") for failure in result.failures), result.failures


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (article_reply(words=200), "length"),
        (article_reply(title=""), "title"),
        (article_reply(headings=2), "headings"),
        (article_reply(keywords=KEYWORDS[:1]), "keywords"),
        (article_reply(extra="See ![x](//evil.example.net/track.gif) here."), "no_images_or_links"),
        (article_reply(extra="Read <b>this</b> first."), "no_raw_html"),
        (article_reply(extra="I hope this helps!"), "no_chatter"),
        (article_reply(headings=0, pasted=PASTED), "no_near_copy"),
    ],
)
def test_a_broken_article_fails_only_the_check_it_breaks(content: str, rule: str) -> None:
    result = evaluate_reply(brief(published=(PUBLISHED_SLEEP,)), content)
    assert [name for name, outcome in result.checks.items() if outcome == "fail"] == [rule]


def test_a_link_of_the_writers_own_fails_as_written_and_once_assembled() -> None:
    content = article_reply(extra="Our [pillow guide](/guides/pillows) has more.")
    result = evaluate_reply(brief(published=(PUBLISHED_SLEEP,)), content)
    failed = [name for name, outcome in result.checks.items() if outcome == "fail"]
    assert failed == ["no_images_or_links", "no_other_links"]


def test_the_length_allows_fifteen_percent_either_way() -> None:
    assert brief(word_count=800).min_words == 680
    assert brief(word_count=800).max_words == 920


def test_keywords_match_whole_phrases_ignoring_case_and_plurals() -> None:
    content = article_reply(keywords=("Pillow Lofts", "cervical support"))
    assert evaluate_reply(brief(), content).ok
    broken = evaluate_reply(brief(keywords=("loft",)), article_reply(keywords=("pillow lofted",)))
    assert broken.checks["keywords"] == "fail"


def test_phrases_from_the_customers_own_brief_are_not_held_as_chatter() -> None:
    topic_brief = brief(topic="What a language model can do for sleep research")
    content = article_reply(extra="A language model can sort sleep diaries quickly.")
    assert evaluate_reply(topic_brief, content).ok
    assert not evaluate_reply(brief(), content).ok


def test_an_anchor_starting_with_your_is_not_a_placeholder() -> None:
    content = article_reply(anchor="your next pillow")
    assert evaluate_reply(brief(anchor_text="your next pillow"), content).ok


def test_a_regeneration_must_not_reuse_an_earlier_title() -> None:
    result = evaluate_reply(brief(previous_titles=(TITLE.upper() + "!",)), article_reply())
    assert result.checks["differs_from_previous"] == "fail"
    assert evaluate_reply(brief(previous_titles=("Another title",)), article_reply()).ok


def test_the_prompt_names_only_the_latest_earlier_titles_but_the_check_knows_them_all() -> None:
    titles = tuple(f"Earlier title number {n}" for n in range(1, 11))
    prompt = build_messages(brief(previous_titles=titles, prompt_history=3), [])[-1]["content"]
    assert [t for t in titles if f"- {t}" in prompt.splitlines()] == list(titles[-3:])
    assert (
        "Earlier drafts"
        not in build_messages(brief(previous_titles=titles, prompt_history=0), [])[-1]["content"]
    )
    result = evaluate_reply(brief(previous_titles=(TITLE, *titles), prompt_history=3), article_reply())
    assert result.checks["differs_from_previous"] == "fail"


def test_similarity_is_the_share_of_the_shorter_texts_five_word_runs_found_in_the_other() -> None:
    words = [f"w{i}" for i in range(100)]
    text = " ".join(words)
    assert similarity(shingles(text), shingles(text)) == 1.0
    assert similarity(shingles(" ".join(words[:50])), shingles(text)) == 1.0
    one_in_eight_changed = " ".join("x" if i % 8 == 7 else w for i, w in enumerate(words))
    assert similarity(shingles(one_in_eight_changed), shingles(text)) >= NEAR_COPY_THRESHOLD
    one_in_four_changed = " ".join("x" if i % 4 == 3 else w for i, w in enumerate(words))
    assert similarity(shingles(one_in_four_changed), shingles(text)) < NEAR_COPY_THRESHOLD
    assert similarity(frozenset(), shingles(text)) == 0.0


def test_the_prompt_carries_the_brief_the_failures_and_earlier_titles_but_no_url() -> None:
    messages = build_messages(
        brief(previous_titles=("An Earlier Title",)), [["length: too short"], ["keywords: missing"]]
    )
    prompt = messages[1]["content"]
    assert "Topic: Choosing a pillow for side sleepers" in prompt
    assert '"pillow loft", "cervical support"' in prompt
    assert f"[[{ANCHOR}]]" in prompt
    assert "between 255 and 345 words" in prompt
    assert "- An Earlier Title" in prompt
    assert "Attempt 1 was rejected by quality checks: length: too short" in prompt
    assert "Attempt 2 was rejected by quality checks: keywords: missing" in prompt
    assert URL not in json.dumps(messages)
    assert "shop.example-store.com" in prompt


BRIEFS = [
    brief(),
    brief(word_count=3000, keywords=tuple(f"keyword {n}" for n in range(10))),
    brief(topic="How large language model APIs change support work in small online shops", word_count=1200),
    brief(topic="Tea", keywords=(), anchor_text="your tea merchant", word_count=800),
    brief(topic="C++ & Rust: *fast* code_gen tips #1", keywords=("C++", "TODO lists"), word_count=500),
    brief(topic="- #1 *fast* sleep tips for people who travel a lot", keywords=("# x", "code_gen", "*bold*")),
    brief(topic="###", keywords=("- dash",), word_count=300),
]


@pytest.mark.parametrize("article_brief", BRIEFS)
def test_the_offline_writer_passes_every_check(article_brief: ArticleBrief) -> None:
    reply = offline_writer.write_article(article_brief)
    result = evaluate_reply(replace(article_brief, published=(PUBLISHED_SLEEP,)), reply.content)
    assert result.ok, result.failures
    assert reply.model == offline_writer.OFFLINE_MODEL_NAME
    assert offline_writer.write_article(article_brief) == reply


def test_the_offline_writer_writes_a_fresh_article_for_each_regeneration() -> None:
    drafts: list[ArticleDraft] = []
    titles: tuple[str, ...] = ()
    for _ in range(4):
        regeneration = replace(BRIEFS[0], previous_titles=titles)
        result = evaluate_reply(regeneration, offline_writer.write_article(regeneration).content)
        assert result.ok, result.failures
        drafts.append(draft_of(result))
        titles = (*titles, draft_of(result).title)
    assert len(set(titles)) == 4
    bodies = [shingles(d.body) for d in drafts]
    assert all(similarity(a, b) < 0.2 for i, a in enumerate(bodies) for b in bodies[i + 1 :])


def test_offline_articles_for_different_briefs_are_not_near_copies_of_each_other() -> None:
    published = [
        PublishedText.of(
            ref=str(n),
            body_markdown=draft_of(evaluate_reply(b, offline_writer.write_article(b).content)).body,
        )
        for n, b in enumerate(BRIEFS)
    ]
    for n, article_brief in enumerate(BRIEFS):
        others = [p for p in published if p.ref != str(n)]
        result = evaluate_reply(
            replace(article_brief, published=tuple(others)),
            offline_writer.write_article(article_brief).content,
        )
        assert result.ok, result.failures
        assert draft_of(result).similarity < 0.2
