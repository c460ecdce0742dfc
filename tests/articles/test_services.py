from typing import Any

import pytest
from django.contrib.auth.models import User

from articles.content import paid_link_markdown
from articles.models import ArticleVersion
from articles.services import PublishWouldDropPaidLink, article_edit_publish, version_create, version_publish
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
