"""Article writes: publishing keeps paid links; unique slugs for generated drafts."""

from typing import Any

import pytest
from django.contrib.auth.models import User

from articles.content import paid_link_markdown
from articles.models import ArticleVersion
from articles.services import (
    PublishWouldDropPaidLink,
    article_create,
    article_create_draft,
    article_edit_publish,
    article_retitle_draft,
    version_create,
    version_publish,
)
from tests.factories import ARTICLE_BODY, make_published_article

pytestmark = pytest.mark.django_db

PAID = paid_link_markdown(
    anchor_text="memory foam pillows", target_url="https://shop.example-store.com/p", rel="sponsored"
)
WITH_LINK = ARTICLE_BODY + f"\nSleep on {PAID} tonight and see the difference for yourself.\n"


def test_publishing_a_version_that_drops_a_live_paid_link_is_refused() -> None:
    article = make_published_article(body_markdown=WITH_LINK)
    dropping = version_create(article=article, title=article.title, body_markdown=ARTICLE_BODY, kind="edit")
    with pytest.raises(PublishWouldDropPaidLink):
        version_publish(version=dropping)
    article.refresh_from_db()
    assert article.published_version is not None
    assert "memory foam pillows" in article.published_version.body_markdown


def test_an_editor_edit_keeping_paid_links_publishes_a_new_version() -> None:
    article = make_published_article(body_markdown=WITH_LINK)
    editor = User.objects.create_superuser("ed", "ed@example.com", "pw")
    version = article_edit_publish(
        article=article,
        title="Sleep Better",
        body_markdown=WITH_LINK.replace("cheapest", "simplest"),
        actor=editor,
    )
    article.refresh_from_db()
    assert article.published_version == version
    assert (version.kind, version.published_by, article.title) == (
        ArticleVersion.Kind.EDIT,
        editor,
        "Sleep Better",
    )


def test_the_article_admin_refuses_an_edit_that_drops_a_paid_link(client: Any) -> None:
    article = make_published_article(body_markdown=WITH_LINK)
    client.force_login(User.objects.create_superuser("ed2", "ed2@example.com", "pw"))
    form = {
        "title": article.title,
        "slug": article.slug,
        "backlink_price": "49.00",
        "currency": "usd",
        "max_backlinks": 3,
        "body_markdown": ARTICLE_BODY,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
    }
    response = client.post(f"/admin/articles/article/{article.pk}/change/", form)
    assert response.status_code == 200
    assert b"drops paid links that are live now" in response.content
    assert ArticleVersion.objects.filter(article=article).count() == 1


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


def test_saving_an_unpublished_generated_article_in_admin_publishes_nothing(client: Any) -> None:
    article = article_create_draft(title="A Draft Awaiting Its Order")
    client.force_login(User.objects.create_superuser("ed3", "ed3@example.com", "pw"))
    form = {
        "title": article.title,
        "slug": article.slug,
        "backlink_price": "59.00",
        "currency": "usd",
        "max_backlinks": 3,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
    }
    response = client.post(f"/admin/articles/article/{article.pk}/change/", form)
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.published_version is None
    assert str(article.backlink_price) == "59.00"
    assert not ArticleVersion.objects.filter(article=article).exists()
