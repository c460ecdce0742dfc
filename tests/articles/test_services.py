"""Article writes: publishing keeps the links orders paid for; staff edits need the permission and
cannot mark links paid; unique slugs for generated drafts."""

from typing import Any

import pytest
from django.contrib.auth.models import User

from articles.content import paid_link_markdown
from articles.models import ArticleVersion
from articles.services import (
    PaidLink,
    PaidLookingLinkRefused,
    PublishPermissionRequired,
    PublishWouldDropPaidLink,
    article_create,
    article_create_draft,
    article_edit_publish,
    article_retitle_draft,
    paid_links_missing,
    version_create,
    version_publish,
)
from tests.factories import ARTICLE_BODY, make_published_article

pytestmark = pytest.mark.django_db

PAID = paid_link_markdown(
    anchor_text="memory foam pillows", target_url="https://shop.example-store.com/p", rel="sponsored"
)
WITH_LINK = ARTICLE_BODY + f"\nSleep on {PAID} tonight and see the difference for yourself.\n"


PROTECTED = PaidLink(href="https://shop.example-store.com/p", text="memory foam pillows", rel="sponsored")


def test_publishing_a_version_that_drops_a_protected_link_is_refused() -> None:
    article = make_published_article(body_markdown=WITH_LINK)
    dropping = version_create(article=article, title=article.title, body_markdown=ARTICLE_BODY, kind="edit")
    with pytest.raises(PublishWouldDropPaidLink) as refused:
        version_publish(version=dropping, protected=[PROTECTED])
    assert refused.value.missing == [PROTECTED]
    article.refresh_from_db()
    assert article.published_version is not None
    assert "memory foam pillows" in article.published_version.body_markdown


def test_a_protected_link_kept_without_its_rel_counts_as_dropped() -> None:
    article = make_published_article(body_markdown=WITH_LINK)
    unmarked = WITH_LINK.replace('{rel="sponsored"}', "")
    version = version_create(article=article, title=article.title, body_markdown=unmarked, kind="edit")
    with pytest.raises(PublishWouldDropPaidLink):
        version_publish(version=version, protected=[PROTECTED])


def test_a_rel_in_the_text_alone_protects_nothing() -> None:
    # No order owns the link (the orders' record is asked, not the text), so it may go.
    article = make_published_article(body_markdown=WITH_LINK)
    dropping = version_create(article=article, title=article.title, body_markdown=ARTICLE_BODY, kind="edit")

    version_publish(version=dropping)

    article.refresh_from_db()
    assert article.published_version == dropping


def test_two_orders_for_the_same_link_need_two_links_only_while_both_are_live() -> None:
    twice = WITH_LINK + f"\nAgain: {PAID} really help.\n"
    assert paid_links_missing(live_body=twice, new_body=WITH_LINK, paid=[PROTECTED, PROTECTED]) == [PROTECTED]
    assert paid_links_missing(live_body=twice, new_body=WITH_LINK, paid=[PROTECTED]) == []
    # A paid link already lost from the live text does not block other edits.
    assert paid_links_missing(live_body=ARTICLE_BODY, new_body=ARTICLE_BODY, paid=[PROTECTED]) == []


def test_an_editor_edit_publishes_a_new_version_by_that_editor() -> None:
    article = make_published_article()
    editor = User.objects.create_superuser("ed", "ed@example.com", "pw")
    version = article_edit_publish(
        article=article,
        title="Sleep Better",
        body_markdown=ARTICLE_BODY.replace("cheapest", "simplest"),
        actor=editor,
    )
    article.refresh_from_db()
    assert article.published_version == version
    assert (version.kind, version.published_by, article.title) == (
        ArticleVersion.Kind.EDIT,
        editor,
        "Sleep Better",
    )


@pytest.mark.parametrize("actor", [None, "staff without the permission", "inactive superuser"])
def test_an_edit_by_anyone_without_the_publish_permission_is_refused_and_stores_nothing(
    actor: str | None,
) -> None:
    article = make_published_article()
    user: Any = None
    if actor == "staff without the permission":
        user = User.objects.create_user("clerk", "c@example.com", "pw", is_staff=True)
    elif actor == "inactive superuser":
        user = User.objects.create_superuser("gone", "g@example.com", "pw", is_active=False)

    with pytest.raises(PublishPermissionRequired) as refused:
        article_edit_publish(article=article, title=article.title, body_markdown="Changed.", actor=user)

    assert refused.value.status_code == 403
    assert ArticleVersion.objects.filter(article=article).count() == 1


@pytest.mark.parametrize("rel", ["sponsored", "nofollow", "ugc noopener"])
def test_an_edit_marking_a_link_with_a_rel_no_order_owns_is_refused(rel: str) -> None:
    article = make_published_article()
    editor = User.objects.create_superuser("ed", "ed@example.com", "pw")
    typed = ARTICLE_BODY + f'\nBuy [cheap pillows](<https://pillows.example-shop.com/>){{rel="{rel}"}} now.\n'

    with pytest.raises(PaidLookingLinkRefused) as refused:
        article_edit_publish(article=article, title=article.title, body_markdown=typed, actor=editor)

    assert "cheap pillows" in refused.value.message
    assert list(refused.value.fields) == ["body_markdown"]
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
        "language": "en",
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
