"""The shared quality checks: defined once, run by both kinds of draft, failing the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from articles.drafting import article, backlink
from articles.drafting.checks import LINK_CHECKS, WRITING_CHECKS, Check, Checked, check, run_checks
from tests.factories import ANCHOR, ARTICLE_BODY, KEYWORDS, WORDS, article_reply

URL = "https://shop.example-store.com/pillows"
SHARED = (*WRITING_CHECKS, *LINK_CHECKS)
# Markdown emphasis in the anchor: the mark is right, but the filled link's text is not the anchor.
STYLED_ANCHOR = "*soft* pillows"

# For each shared check: what the writer adds to an otherwise good draft, and the anchor.
BROKEN: dict[str, tuple[str, str]] = {
    "link_mark": ("Also see [[another shop]] for deals.", ANCHOR),
    "no_raw_html": ("Read <b>this</b> first.", ANCHOR),
    "no_urls": ("Visit www.example-store.com for more.", ANCHOR),
    "no_chatter": ("I hope this helps!", ANCHOR),
    "link_once": ("", STYLED_ANCHOR),
}
# What the writer is told, per kind: the same check, in each kind's words.
MESSAGES: dict[str, tuple[str, str]] = {
    "link_mark": (
        f"link_mark: the paragraph must contain [[{ANCHOR}]] exactly once and no other [[...]] mark",
        f"link_mark: the body must contain [[{ANCHOR}]] exactly once and no other [[...]] mark",
    ),
    "no_raw_html": (
        "no_raw_html: HTML tags are not allowed",
        "no_raw_html: HTML tags and comments are not allowed",
    ),
    "no_urls": ("no_urls: do not write URLs, only the [[mark]]",) * 2,
    "no_chatter": (
        "no_chatter: remove assistant chatter or placeholders",
        "no_chatter: remove assistant chatter, remarks about the writing and placeholders",
    ),
    "link_once": (
        "link_once: the article must link to the customer's page exactly once with the text "
        f"'{STYLED_ANCHOR}'",
    )
    * 2,
}


def backlink_result(*, extra: str, anchor: str) -> Checked[backlink.BacklinkDraft]:
    brief = backlink.BacklinkBrief(
        title="T",
        base_body=ARTICLE_BODY,
        anchor_text=anchor,
        target_url=URL,
        customer_notes="",
        rel="sponsored",
    )
    paragraph = (
        f"If your neck aches in the morning, [[{anchor}]] can help keep your spine aligned through the night."
    )
    reply = {"paragraph_index": 3, "mode": "insert_after", "paragraph": f"{paragraph} {extra}".strip()}
    return backlink.evaluate_reply(brief, json.dumps(reply))


def article_result(*, extra: str, anchor: str) -> Checked[article.ArticleDraft]:
    brief = article.ArticleBrief(
        topic="Choosing a pillow for side sleepers",
        keywords=KEYWORDS,
        anchor_text=anchor,
        target_url=URL,
        customer_notes="",
        word_count=WORDS,
        rel="sponsored",
    )
    return article.evaluate_reply(brief, article_reply(anchor=anchor, extra=extra))


def test_good_drafts_of_both_kinds_pass_every_shared_check() -> None:
    for result in (backlink_result(extra="", anchor=ANCHOR), article_result(extra="", anchor=ANCHOR)):
        assert result.ok, result.failures
        assert all(result.checks[shared.name] == "pass" for shared in SHARED)


def test_both_kinds_run_each_shared_check_with_the_one_shared_test() -> None:
    for kind_checks in (backlink.CHECKS, article.CHECKS):
        tests = {each.name: each.test for each in kind_checks}
        assert all(tests[shared.name] is shared.test for shared in SHARED)


def test_every_shared_check_has_a_breaking_case_here() -> None:
    assert [shared.name for shared in SHARED] == list(BROKEN) == list(MESSAGES)


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_shared_check_fails_the_same_way_for_a_backlink_and_a_new_article(name: str) -> None:
    extra, anchor = BROKEN[name]

    results: tuple[Checked[Any], ...] = (
        backlink_result(extra=extra, anchor=anchor),
        article_result(extra=extra, anchor=anchor),
    )

    for result, message in zip(results, MESSAGES[name], strict=True):
        assert result.checks[name] == "fail"
        assert [f for f in result.failures if f.startswith(f"{name}:")] == [message]


def test_each_kind_runs_its_checks_in_the_documented_order() -> None:
    assert [each.name for each in backlink.CHECKS] == [
        "link_mark", "no_raw_html", "no_urls", "no_chatter", "paragraph_shape", "differs_from_previous",
        "link_once", "links_preserved", "other_paragraphs_unchanged",
    ]  # fmt: skip
    assert [each.name for each in article.CHECKS] == [
        "title", "headings", "length", "keywords", "link_mark", "no_raw_html", "no_urls", "no_chatter",
        "link_once", "no_other_links", "no_near_copy", "differs_from_previous",
    ]  # fmt: skip


def test_run_checks_records_every_check_and_skips_those_that_do_not_apply() -> None:
    @check("short", lambda text: f"{len(text)} characters is too long")
    def short(text: str) -> bool:
        return len(text) < 5

    @check("never", "not run", applies=lambda text: False)
    def never(text: str) -> bool:
        return False

    bare: Check[str] = Check(name="bare", test=lambda text: False, message=lambda text: "")

    result = run_checks((short, never, bare), "too long", details={"n": 1})

    assert result.checks == {"short": "fail", "bare": "fail"}
    assert result.failures == ["short: 8 characters is too long", "bare"]
    assert result.details == {"n": 1}
    assert not result.ok
