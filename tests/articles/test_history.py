"""An article's history on the articles side: who made each version and why, restoring a version as
a new one, and unpublishing / publishing back (what that means for orders: tests/purchases)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from articles.models import ArticleEvent, ArticleVersion
from articles.services import (
    ArticleNotPublished,
    PublishPermissionRequired,
    article_edit_publish,
    article_republish,
    article_unpublish,
    version_restore,
)
from blogorder.errors import ActionNotAllowed, ApplicationError
from tests.factories import ARTICLE_BODY, make_published_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


@pytest.fixture
def staff_without_publish(db: Any) -> User:
    return User.objects.create_user("junior", "junior@example.com", "pw", is_staff=True)


def edited(article: Any, editor: User, body: str, reason: str = "") -> ArticleVersion:
    article.refresh_from_db()
    return article_edit_publish(
        article=article, title=article.title, body_markdown=body, actor=editor, reason=reason
    )


def test_an_edit_keeps_who_made_it_and_why(editor: User) -> None:
    article = make_published_article()

    version = edited(article, editor, ARTICLE_BODY + "\nOne more line.\n", reason="  Fixed a typo.  ")

    assert (version.kind, version.created_by, version.reason) == (
        ArticleVersion.Kind.EDIT,
        editor,
        "Fixed a typo.",
    )


def test_restoring_a_version_publishes_its_text_as_a_new_version_with_who_and_why(editor: User) -> None:
    article = make_published_article()
    first = article.published_version
    assert first is not None
    edited(article, editor, ARTICLE_BODY.replace("cheapest", "simplest"))

    restored = version_restore(version=first, actor=editor, reason="The edit was wrong.")

    article.refresh_from_db()
    assert article.published_version == restored
    assert restored.number == 3 and restored.body_markdown == first.body_markdown
    assert (restored.kind, restored.restored_from, restored.created_by, restored.reason) == (
        ArticleVersion.Kind.RESTORE,
        first,
        editor,
        "The edit was wrong.",
    )
    assert restored.published_by == editor and restored.base_version is not None
    first.refresh_from_db()
    assert first.body_markdown == ARTICLE_BODY  # the old version is left as it was


def test_a_restore_needs_the_publish_permission_and_a_reason(
    editor: User, staff_without_publish: User
) -> None:
    article = make_published_article()
    first = article.published_version
    assert first is not None
    edited(article, editor, ARTICLE_BODY.replace("cheapest", "simplest"))

    with pytest.raises(PublishPermissionRequired) as no_permission:
        version_restore(version=first, actor=staff_without_publish, reason="Because.")
    with pytest.raises(ApplicationError) as no_reason:
        version_restore(version=first, actor=editor, reason="   ")
    with pytest.raises(ActionNotAllowed) as already_live:
        version_restore(
            version=ArticleVersion.objects.get(article=article, number=2), actor=editor, reason="x"
        )

    assert no_permission.value.status_code == 403
    assert (no_reason.value.status_code, no_reason.value.fields) == (
        400,
        {"reason": ["This field is required."]},
    )
    assert already_live.value.status_code == 409
    assert ArticleVersion.objects.filter(article=article).count() == 2


def test_unpublishing_keeps_the_version_to_publish_back_and_records_who_and_why(editor: User) -> None:
    article = make_published_article()
    live = article.published_version

    gone = article_unpublish(article_id=article.pk, actor=editor, reason="Legal complaint.")

    article.refresh_from_db()
    assert (article.published_version, article.unpublished_version, article.is_unpublished) == (
        None,
        live,
        True,
    )
    assert (gone.kind, gone.version, gone.actor, gone.reason) == (
        ArticleEvent.Kind.UNPUBLISHED,
        live,
        editor,
        "Legal complaint.",
    )
    with pytest.raises(ArticleNotPublished):
        article_unpublish(article_id=article.pk, actor=editor, reason="Again.")
    with pytest.raises(ArticleNotPublished):  # restoring needs the article on the site
        assert live is not None
        version_restore(version=live, actor=editor, reason="Back.")

    back = article_republish(article_id=article.pk, actor=editor, reason="Complaint withdrawn.")

    article.refresh_from_db()
    assert (article.published_version, article.unpublished_version) == (live, None)
    assert back.kind == ArticleEvent.Kind.REPUBLISHED
    assert ArticleVersion.objects.filter(article=article).count() == 1  # no new version either way
    with pytest.raises(ActionNotAllowed):
        article_republish(article_id=article.pk, actor=editor, reason="Twice.")


def test_unpublishing_needs_the_publish_permission_and_a_reason(
    editor: User, staff_without_publish: User
) -> None:
    article = make_published_article()

    with pytest.raises(PublishPermissionRequired):
        article_unpublish(article_id=article.pk, actor=staff_without_publish, reason="No.")
    with pytest.raises(ApplicationError) as no_reason:
        article_unpublish(article_id=article.pk, actor=editor, reason="")

    assert no_reason.value.fields == {"reason": ["This field is required."]}
    article.refresh_from_db()
    assert article.is_published and not ArticleEvent.objects.exists()
