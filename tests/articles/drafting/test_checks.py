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
    "no_images_or_links": ("See ![x](//evil.example.net/track.gif) here.", ANCHOR),
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
    "no_images_or_links": (
        "no_images_or_links: write no image, link or link reference ([text](...), ![...](...), <...>, "
        "[label]: ...); the [[mark]] is the only link",
    )
    * 2,
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


def backlink_result(*, extra: str, anchor: str, before: str = "") -> Checked[backlink.BacklinkDraft]:
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
    written = f"{before}{paragraph} {extra}".strip()
    reply = {"paragraph_index": 3, "mode": "insert_after", "paragraph": written}
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
        "link_mark", "no_raw_html", "no_urls", "no_images_or_links", "no_chatter", "sentence_shape", "paragraph_shape",
        "differs_from_previous", "link_once", "links_preserved", "other_paragraphs_unchanged",
    ]  # fmt: skip
    assert [each.name for each in article.CHECKS] == [
        "title", "headings", "length", "keywords", "link_mark", "no_raw_html", "no_urls", "no_images_or_links",
        "no_chatter", "link_once", "no_other_links", "no_near_copy", "differs_from_previous",
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


# The tracking image of issue 9, and every other way a writer could put its own link or image in.
FOREIGN_LINKS = {
    "protocol_relative_image": "![x](//evil.example.net/track.gif)",
    "relative_image": "![x](/media/track.gif)",
    "protocol_relative_link": "[our partner](//evil.example.net/)",
    "relative_link": "[the admin](/admin/)",
    "dot_relative_link": "[up](../secret)",
    "absolute_link": "[shop](https://other.example-shop.com/)",
    "autolink": "<https://other.example-shop.com/>",
    "email_autolink": "<someone@example.com>",
    "reference_link": "[our partner][p]\n\n[p]: //evil.example.net/",
    "bare_reference_definition": "[p]: //evil.example.net/track.gif",
    "reference_image": "![x][p]\n\n[p]: /track.gif",
    "image_inside_a_link": "[![x](//evil.example.net/t.gif)](https://other.example-shop.com/)",
    "reference_named_like_the_anchor": f"[{ANCHOR}]: //evil.example.net/",
}


@pytest.mark.parametrize("written", list(FOREIGN_LINKS.values()), ids=list(FOREIGN_LINKS))
def test_a_tracking_image_or_any_link_of_the_writers_own_fails_both_kinds(written: str) -> None:
    # A reference definition counts only at the start of a block, so the backlink's paragraph starts with it.
    for result in (
        backlink_result(extra="", before=f"{written}\n", anchor=ANCHOR),
        article_result(extra=f"Read more.\n\n{written}", anchor=ANCHOR),
    ):
        assert not result.ok
        assert result.checks["no_images_or_links"] == "fail", written


def test_an_html_link_or_image_is_refused_as_raw_html_for_both_kinds() -> None:
    for written in ('<a href="//evil.example.net/">x</a>', '<img src="//evil.example.net/t.gif">'):
        for result in (
            backlink_result(extra=written, anchor=ANCHOR),
            article_result(extra=written, anchor=ANCHOR),
        ):
            assert result.checks["no_raw_html"] == "fail"


def test_prose_mentioning_slashes_or_brackets_is_not_a_link() -> None:
    for result in (
        backlink_result(extra="Sleep on your side and/or back [sometimes] // rarely.", anchor=ANCHOR),
        article_result(extra="Sleep on your side and/or back [sometimes] // rarely.", anchor=ANCHOR),
    ):
        assert result.checks["no_images_or_links"] == "pass"
