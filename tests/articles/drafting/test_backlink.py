"""A backlink draft: its prompt, its assembly and its quality checks (pure functions, no database)."""

import json

import pytest

from articles import offline_writer
from articles.content import extract_links, split_paragraphs
from articles.drafting.backlink import BacklinkBrief, build_messages, evaluate_reply
from tests.factories import ARTICLE_BODY

ANCHOR = "memory foam pillows"
URL = "https://shop.example-store.com/pillows"
GOOD = "If your neck aches in the morning, [[memory foam pillows]] can help keep your spine aligned through the night."


def brief(**kw: object) -> BacklinkBrief:
    fields: dict = dict(
        title="T",
        base_body=ARTICLE_BODY,
        anchor_text=ANCHOR,
        target_url=URL,
        customer_notes="",
        rel="sponsored",
    )
    fields.update(kw)
    return BacklinkBrief(**fields)


def reply(index: int = 3, mode: str = "insert_after", paragraph: str = GOOD) -> str:
    return json.dumps({"paragraph_index": index, "mode": mode, "paragraph": paragraph})


def test_a_good_insertion_passes_and_leaves_every_other_paragraph_identical() -> None:
    result = evaluate_reply(brief(), reply())
    assert result.ok, result.failures
    assert result.draft is not None
    base, new = split_paragraphs(ARTICLE_BODY), split_paragraphs(result.draft.body)
    assert new[:4] + new[5:] == base
    links = [link for link in extract_links(result.draft.body) if link.href == URL]
    assert [(link.text, link.rel) for link in links] == [(ANCHOR, "sponsored")]


def test_a_good_replacement_of_plain_prose_passes() -> None:
    result = evaluate_reply(
        brief(),
        reply(
            index=1,
            mode="replace",
            paragraph="Good sleep is the cheapest upgrade "
            "there is, and [[memory foam pillows]] "
            "make it easier to get.",
        ),
    )
    assert result.ok, result.failures


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (reply(paragraph=GOOD + " Also see [[other thing]] today."), "link_mark"),
        (reply(paragraph=GOOD.replace("[[memory foam pillows]]", "memory foam pillows")), "link_mark"),
        (reply(paragraph=GOOD + " See [cheap stuff](https://spam.example-spam.com) too."), "links_preserved"),
        (
            reply(paragraph=GOOD + "\n\nBright screens are fine at night, ignore the advice."),
            "other_paragraphs_unchanged",
        ),
        (reply(paragraph=GOOD + " <b>Bold</b>."), "no_raw_html"),
        (reply(paragraph="Sure, here is the revised paragraph: " + GOOD), "no_chatter"),
        (reply(paragraph="Buy [[memory foam pillows]]."), "paragraph_shape"),
        (reply(paragraph=GOOD + " Visit www.example-store.com for more."), "no_urls"),
        (reply(index=0, mode="replace"), "mode"),
        (reply(index=99), "paragraph_index"),
        ("this is not json", "reply_json"),
        (json.dumps({"paragraph_index": "3", "mode": "insert_after", "paragraph": GOOD}), "reply_json"),
    ],
)
def test_each_broken_reply_fails_the_named_check(content: str, rule: str) -> None:
    result = evaluate_reply(brief(), content)
    assert not result.ok
    assert any(failure.startswith(rule) for failure in result.failures), result.failures


def test_a_paragraph_holding_a_link_may_not_be_replaced() -> None:
    paragraphs = split_paragraphs(ARTICLE_BODY)
    index = next(i for i, p in enumerate(paragraphs) if "sleepfoundation" in p)
    result = evaluate_reply(brief(), reply(index=index, mode="replace"))
    assert not result.ok


def test_previous_failures_are_fed_back_to_the_model() -> None:
    messages = build_messages(brief(), [["link_mark: missing"], ["no_chatter: remove chatter"]])
    assert "Attempt 1 was rejected by quality checks: link_mark: missing" in messages[1]["content"]
    assert "Attempt 2 was rejected by quality checks: no_chatter" in messages[1]["content"]


def test_the_offline_writer_passes_the_same_checks_and_varies_with_each_draft() -> None:
    previous: list[tuple[int, str]] = []
    for _ in range(6):
        b = brief(previous=tuple(previous))
        data = json.loads(offline_writer.write(b).content)
        result = evaluate_reply(b, offline_writer.write(b).content)
        assert result.ok, result.failures
        assert (data["paragraph_index"], data["paragraph"]) not in previous
        previous.append((data["paragraph_index"], data["paragraph"]))


@pytest.mark.parametrize("anchor", ["your best pillow", "link building tools", "insert molding"])
def test_anchors_that_look_like_placeholders_are_not_chatter(anchor: str) -> None:
    paragraph = (
        f"If your neck aches in the morning, [[{anchor}]] can help keep your spine aligned through the night."
    )
    result = evaluate_reply(brief(anchor_text=anchor), reply(paragraph=paragraph))
    assert result.ok, result.failures
