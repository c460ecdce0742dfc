"""Article writes: unique slugs for generated drafts."""

from __future__ import annotations

import pytest

from articles.services import article_create, article_create_draft, article_retitle_draft

pytestmark = pytest.mark.django_db


def test_a_draft_article_is_unpublished_with_default_price_and_a_slug_from_its_title() -> None:
    article = article_create_draft(title="Sleep Better: Ten Tips!")
    assert (article.slug, article.is_published, str(article.backlink_price), article.currency) == (
        "sleep-better-ten-tips",
        False,
        "49.00",
        "usd",
    )


def test_a_taken_slug_gets_the_next_free_number() -> None:
    slugs = [article_create_draft(title="Same Title").slug for _ in range(3)]
    assert slugs == ["same-title", "same-title-2", "same-title-3"]


def test_long_titles_keep_slugs_within_200_characters_even_with_a_suffix() -> None:
    title = "word " * 80
    first, second = article_create_draft(title=title), article_create_draft(title=title)
    assert len(first.slug) <= 200 and len(second.slug) <= 200
    assert second.slug.endswith("-2")
    assert first.title == title[:300]


def test_a_title_without_latin_letters_still_gets_a_slug() -> None:
    assert article_create_draft(title="睡眠のコツ").slug == "article"


def test_retitling_a_draft_moves_its_slug() -> None:
    draft = article_create_draft(title="Old Title")
    article_create_draft(title="New Title")
    draft = article_retitle_draft(article=draft, title="New Title")
    assert (draft.title, draft.slug) == ("New Title", "new-title-2")


def test_a_published_article_keeps_its_title_and_slug_when_retitled() -> None:
    article = article_create(title="Kept", slug="kept", body_markdown="Body.")
    kept = article_retitle_draft(article=article, title="Another")
    assert (kept.title, kept.slug) == ("Kept", "kept")
