"""What a customer is shown of a draft (``version_preview``): their paragraph, the link in sight."""

from __future__ import annotations

from articles.content import split_paragraphs
from articles.models import ArticleVersion
from articles.selectors import version_preview
from tests.factories import ARTICLE_BODY

URL = "https://shop.example-store.com/pillows"
LINK = f'[memory foam pillows](<{URL}>){{rel="sponsored"}}'
SENTENCE = f"Readers who want to sleep more soundly will find {LINK} a practical place to start."
READ = "Readers who want to sleep more soundly will find memory foam pillows a practical place to start."


def backlink_draft(paragraph: str) -> ArticleVersion:
    """A backlink draft (unsaved: the preview reads only its text and metadata) whose paragraph 1 is ``paragraph``."""
    paragraphs = split_paragraphs(ARTICLE_BODY)
    paragraphs[1] = paragraph
    version = ArticleVersion(
        body_markdown="\n\n".join(paragraphs) + "\n",
        backlink_metadata={"target_url": URL, "anchor_text": "memory foam pillows"},
    )
    version.base_version_id = 1
    return version


def test_a_short_paragraph_with_an_appended_sentence_is_shown_whole() -> None:
    published = split_paragraphs(ARTICLE_BODY)[1]

    assert version_preview(backlink_draft(f"{published} {SENTENCE}")) == f"{published} {READ}"


def test_a_long_paragraph_is_shown_from_the_appended_sentence_when_its_opening_would_hide_the_link() -> None:
    long = " ".join(
        f"Sleep habit number {n} is worth a little attention every single evening." for n in range(6)
    )

    preview = version_preview(backlink_draft(f"{long} {SENTENCE}"))

    assert preview == f"… {READ}"


def test_a_link_within_the_opening_keeps_the_opening() -> None:
    long = " ".join(
        f"Sleep habit number {n} is worth a little attention every single evening." for n in range(6)
    )

    preview = version_preview(backlink_draft(f"{SENTENCE} {long}"))

    assert preview.startswith(READ) and preview.endswith("…") and len(preview) <= 300
