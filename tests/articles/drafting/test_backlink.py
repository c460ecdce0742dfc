"""A backlink draft: its prompt, its assembly and its quality checks (pure functions, no database; the
retry test asks the real model writer through the fake OpenAI server)."""

import json
from dataclasses import replace
from typing import Any

import pytest

from articles import offline_writer
from articles.content import extract_links, join_paragraphs, split_paragraphs
from articles.drafting.attempts import draft_attempts
from articles.drafting.backlink import (
    MAX_CHARS,
    REPLY_SCHEMA,
    SENTENCE_MAX_CHARS,
    BacklinkBrief,
    build_messages,
    carry_over,
    evaluate_reply,
    other_paragraphs_unchanged,
    reply_tokens,
)
from articles.drafting.kinds import BACKLINK
from articles.writers import get_writer
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
        assert data["mode"] == "append_sentence" and 15 <= len(data["paragraph"].split()) <= 25
        previous.append((data["paragraph_index"], data["paragraph"]))


def test_the_offline_writer_inserts_a_paragraph_where_no_paragraph_can_take_a_sentence() -> None:
    b = brief(base_body="# Packing list\n\n- a scarf\n- a torch\n\n## Optional:\n")

    data = json.loads(offline_writer.write(b).content)

    assert data["mode"] == "insert_after"
    assert evaluate_reply(b, offline_writer.write(b).content).ok


@pytest.mark.parametrize("anchor", ["your best pillow", "link building tools", "insert molding"])
def test_anchors_that_look_like_placeholders_are_not_chatter(anchor: str) -> None:
    paragraph = (
        f"If your neck aches in the morning, [[{anchor}]] can help keep your spine aligned through the night."
    )
    result = evaluate_reply(brief(anchor_text=anchor), reply(paragraph=paragraph))
    assert result.ok, result.failures


# --- One sentence appended to a prose paragraph (the mode the prompt asks for first) -------------

SENTENCE = (
    "Readers who want to sleep more soundly will find [[memory foam pillows]] a practical place to start."
)
LINKED = next(i for i, p in enumerate(split_paragraphs(ARTICLE_BODY)) if "sleepfoundation" in p)
# An article with every kind of block a sentence may not follow.
BLOCKS_BODY = """# Packing light

Travel gets easier with less. These are the three things to pack:

- a scarf that doubles as a blanket
- a small first-aid kit

> Pack half the clothes and twice the money.

| item | weight |
| --- | --- |
| scarf | 200 g |

    pack --light

Everything else can be bought on the way.
"""


def append(index: int = 1, sentence: str = SENTENCE) -> str:
    return reply(index=index, mode="append_sentence", paragraph=sentence)


def test_an_appended_sentence_passes_and_only_extends_its_paragraph() -> None:
    result = evaluate_reply(brief(), append(index=1))

    assert result.ok, result.failures
    assert result.draft is not None
    base, new = split_paragraphs(ARTICLE_BODY), split_paragraphs(result.draft.body)
    assert new[:1] + new[2:] == base[:1] + base[2:]
    filled = SENTENCE.replace(
        "[[memory foam pillows]]",
        '[memory foam pillows](<https://shop.example-store.com/pillows>){rel="sponsored"}',
    )
    assert new[1] == f"{base[1]} {filled}"
    assert result.draft.changed_paragraph == new[1]
    assert result.draft.paragraph == SENTENCE  # what the writer wrote, as the order stores it
    assert result.checks["sentence_shape"] == "pass" and "paragraph_shape" not in result.checks
    links = [link for link in extract_links(result.draft.body) if link.href == URL]
    assert [(link.text, link.rel) for link in links] == [(ANCHOR, "sponsored")]


def test_a_sentence_may_follow_a_paragraph_that_holds_a_link_and_keeps_that_link() -> None:
    result = evaluate_reply(brief(), append(index=LINKED))

    assert result.ok, result.failures
    assert result.draft is not None
    assert result.checks["links_preserved"] == "pass"
    hrefs = [link.href for link in extract_links(result.draft.changed_paragraph)]
    assert hrefs == ["https://www.sleepfoundation.org/", URL]


@pytest.mark.parametrize(
    ("sentence", "rule"),
    [
        (
            SENTENCE[:-1] + ", " + "and a cool dark room does the rest " * 5 + "tonight.",
            "sentence_shape",
        ),  # 48 words
        ("See [[memory foam pillows]] for a start.", "sentence_shape"),  # 7 words
        (SENTENCE + " They are on sale this week.", "sentence_shape"),  # two sentences
        (SENTENCE.replace(" a practical", "\n## A practical"), "sentence_shape"),  # a heading on a new line
        (
            "readers who want to sleep more soundly will find [[memory foam pillows]] useful.",
            "sentence_shape",
        ),
        (SENTENCE.rstrip("."), "sentence_shape"),  # no full stop
        ("- " + SENTENCE, "sentence_shape"),  # a list item
        (SENTENCE.replace("[[memory foam pillows]]", "memory foam pillows"), "link_mark"),  # no mark
        (SENTENCE.replace("start.", "start with [[memory foam pillows]]."), "link_mark"),  # the mark twice
        (SENTENCE.replace("start.", "start, see [[our shop]]."), "link_mark"),  # another mark
        (SENTENCE.replace("start.", "start at www.example-store.com today."), "no_urls"),
        (SENTENCE.replace("start.", "start, see [the shop](/pillows)."), "no_images_or_links"),
        (SENTENCE.replace("start.", "start ![x](//evil.example.net/t.gif)."), "no_images_or_links"),
        (SENTENCE.replace("a practical", "a <b>practical</b>"), "no_raw_html"),
        ("Sure, here is the revised sentence with [[memory foam pillows]] in it as asked.", "no_chatter"),
    ],
)
def test_each_broken_sentence_fails_the_named_check(sentence: str, rule: str) -> None:
    result = evaluate_reply(brief(), append(sentence=sentence))

    assert not result.ok
    assert any(failure.startswith(f"{rule}:") for failure in result.failures), result.failures


def test_the_sentence_shape_failure_tells_the_writer_the_rule() -> None:
    result = evaluate_reply(brief(), append(sentence=SENTENCE + " They are on sale this week."))

    assert result.failures == [
        "sentence_shape: write exactly one sentence of 8-40 words (max 300 characters) on one line, "
        "starting like a sentence and ending with a full stop"
    ]


@pytest.mark.parametrize(
    ("index", "what"),
    [(0, "heading"), (1, "ends with a colon"), (2, "list"), (3, "quote"), (4, "table"), (5, "code")],
)
def test_a_sentence_may_not_follow_a_block_that_is_not_a_finished_prose_paragraph(
    index: int, what: str
) -> None:
    result = evaluate_reply(brief(base_body=BLOCKS_BODY), append(index=index))

    assert result.draft is None
    assert result.failures == [
        f"mode: paragraph {index} cannot take a sentence (heading, list, quote, table or code, "
        "or it does not end a sentence)"
    ]


# The same blocks, each ending with a full stop: still not prose a sentence may follow.
FINISHED_BLOCKS_BODY = """## Why pack light.

- a scarf that doubles as a blanket.

> Pack half the clothes and twice the money.

    echo packed.

Everything else can be bought on the way.
"""


@pytest.mark.parametrize(("index", "what"), [(0, "heading"), (1, "list"), (2, "quote"), (3, "code")])
def test_a_block_ending_with_a_full_stop_is_still_no_place_for_a_sentence(index: int, what: str) -> None:
    result = evaluate_reply(brief(base_body=FINISHED_BLOCKS_BODY), append(index=index))

    assert result.draft is None and result.failures[0].startswith(
        f"mode: paragraph {index} cannot take a sentence"
    )
    assert evaluate_reply(brief(base_body=FINISHED_BLOCKS_BODY), append(index=4)).ok


def test_an_appended_sentence_that_lost_its_paragraphs_text_fails_other_paragraphs_unchanged() -> None:
    given = brief()
    placed = evaluate_reply(given, append(index=1)).draft
    assert placed is not None
    paragraphs = split_paragraphs(placed.body)
    paragraphs[1] = paragraphs[1].removeprefix(split_paragraphs(ARTICLE_BODY)[1] + " ")
    dropped = replace(placed, body=join_paragraphs(paragraphs))

    assert other_paragraphs_unchanged.test(placed) is True
    assert other_paragraphs_unchanged.test(dropped) is False


def test_the_last_prose_paragraph_of_that_article_takes_a_sentence() -> None:
    assert evaluate_reply(brief(base_body=BLOCKS_BODY), append(index=6)).ok


@pytest.mark.parametrize(
    ("sentence", "anchor"),
    [
        (
            "Travellers heading to the Alps, e.g. in winter, will like [[memory foam pillows]] for the hotel.",
            ANCHOR,
        ),
        (
            "Skiers who book early often find [[St. Moritz hotels]] cheaper than they expected.",
            "St. Moritz hotels",
        ),
        ("Is it worth it? Most guests who tried [[memory foam pillows]] think so.", ANCHOR),
    ],
    ids=["abbreviation", "anchor with a full stop", "a question then an answer"],
)
def test_one_sentence_is_told_from_two_by_what_follows_a_full_stop(sentence: str, anchor: str) -> None:
    result = evaluate_reply(brief(anchor_text=anchor), append(sentence=sentence))

    one_sentence = "?" not in sentence
    assert (result.checks["sentence_shape"] == "pass") is one_sentence, result.failures


def test_a_regenerated_sentence_must_differ_from_the_earlier_drafts() -> None:
    result = evaluate_reply(brief(previous=((1, SENTENCE),)), append(index=1))

    assert result.failures == [
        "differs_from_previous: this placement and wording were already proposed; vary one of them"
    ]
    assert evaluate_reply(brief(previous=((1, SENTENCE),)), append(index=3)).ok


def test_the_prompt_asks_for_one_appended_sentence_first_and_tags_what_each_paragraph_may_take() -> None:
    system, user = (m["content"] for m in build_messages(brief(base_body=BLOCKS_BODY), []))

    assert REPLY_SCHEMA["properties"]["mode"]["enum"] == ["append_sentence", "replace", "insert_after"]
    assert system.index("Prefer mode append_sentence: write ONE sentence") < system.index("(mode replace)")
    assert "<<0>> [do not append or replace: heading/list/code/quote/table]\n# Packing light" in user
    assert "<<1>> [do not append: it does not end a sentence]\nTravel gets easier" in user
    assert "<<6>>\nEverything else" in user
    linked = build_messages(brief(), [])[1]["content"]
    assert f"<<{LINKED}>> [do not replace: it holds a link]\nA cool, dark" in linked


def test_the_spend_estimate_covers_the_longest_passing_reply_of_every_mode() -> None:
    given = brief()
    mark = f"[[{ANCHOR}]]"
    longest = {
        "append_sentence": (1, " ".join([mark, *["wonderful" for _ in range(26)]]) + " sleepers."),
        "insert_after": (3, " ".join([mark, *["wonderful" for _ in range(156)]]) + " a sleeper."),
        "replace": (1, " ".join([mark, *["wonderful" for _ in range(156)]]) + " a sleeper."),
    }
    for mode, (index, text) in longest.items():
        content = reply(index=index, mode=mode, paragraph=text)
        result = evaluate_reply(given, content)
        assert result.ok, (mode, result.failures)
        assert len(text) > (SENTENCE_MAX_CHARS if mode == "append_sentence" else MAX_CHARS) - 10
        assert (len(content) + 3) // 4 <= reply_tokens(given), mode


def test_a_stored_appended_sentence_is_carried_over_to_a_newer_version_where_its_paragraph_moved() -> None:
    newer = ARTICLE_BODY.replace(
        "## Keep a schedule", "A new opening line was added here.\n\n## Keep a schedule"
    )
    moved = brief(base_body=newer)

    result = carry_over(
        moved, old_base_body=ARTICLE_BODY, paragraph_index=1, mode="append_sentence", paragraph=SENTENCE
    )

    assert result is not None and result.ok, result and result.failures
    assert result.draft is not None
    assert result.draft.paragraph_index == 1
    assert split_paragraphs(result.draft.body)[1].startswith(
        split_paragraphs(ARTICLE_BODY)[1] + " Readers who"
    )


def test_a_sentence_that_fails_its_shape_is_fed_back_and_the_next_attempt_passes(fake_openai: Any) -> None:
    fake_openai.script(append(sentence=SENTENCE + " They are on sale this week."), append(sentence=SENTENCE))

    attempts, usage = draft_attempts(BACKLINK, brief(), writer=get_writer(), label="backlink", log_extra={})

    assert [a.ok for a in attempts] == [False, True]
    retry_prompt = fake_openai.requests[1]["messages"][-1]["content"]
    assert (
        "Attempt 1 was rejected by quality checks: sentence_shape: write exactly one sentence" in retry_prompt
    )
    assert usage.completion_tokens == sum(
        (len(append(sentence=s)) + 3) // 4 for s in (SENTENCE + " They are on sale this week.", SENTENCE)
    )
