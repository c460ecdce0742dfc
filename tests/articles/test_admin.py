"""The article admin: publishing by editing needs the publish permission and never marks a link paid;
staff see each version's token usage and estimated cost, the order's total on its review page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.drafting.attempts import Usage
from articles.models import Article, ArticleVersion, Category
from articles.services import article_create_draft, category_ensure
from purchases.services.draft_versions import order_version_create
from tests.factories import ARTICLE_BODY, make_article_order, make_published_article

pytestmark = pytest.mark.django_db


def test_the_version_admin_shows_tokens_and_cost_and_the_order_page_its_total(admin_client: Any) -> None:
    order, _ = make_article_order()
    article = article_create_draft(title="A Generated Article")
    versions = [
        order_version_create(
            order=order,
            run=run,
            fields={
                "article": article,
                "title": "A Generated Article",
                "body_markdown": "Body.",
                "kind": ArticleVersion.Kind.GENERATED,
                "base_version": None,
                "backlink_metadata": {},
            },
            qc_report={},
            usage=Usage(model="gpt-test", prompt_tokens=1000 * run, completion_tokens=2000 * run),
        )
        for run in (1, 2)
    ]
    listing = admin_client.get("/admin/articles/articleversion/").content.decode()
    assert "0.001350" in listing and "0.002700" in listing
    page = admin_client.get(f"/admin/articles/articleversion/{versions[1].pk}/change/").content.decode()
    assert "0.002700" in page
    review = admin_client.get(f"/admin/purchases/order/{order.pk}/change/").content.decode()
    assert "3000 / 6000" in review and "$0.004050" in review


def test_a_version_is_named_by_its_article_title_number_and_kind() -> None:
    article = make_published_article(title="Ten Ways to Sleep Better")

    assert str(article.published_version) == "Ten Ways to Sleep Better — v1 (Original (editorial))"


def test_the_article_list_names_published_versions_without_a_query_per_row(admin_client: Any) -> None:
    make_published_article(title="The First Article")
    with CaptureQueriesContext(connection) as one:
        admin_client.get("/admin/articles/article/")
    for n in range(3):
        make_published_article(title=f"Another Article {n}")

    with CaptureQueriesContext(connection) as four:
        listing = admin_client.get("/admin/articles/article/").content.decode()

    assert "The First Article — v1 (Original (editorial))" in listing
    assert len(four.captured_queries) == len(one.captured_queries)


def staff_with(username: str, *codenames: str) -> User:
    """A staff user holding just these ``articles`` permissions."""
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=codenames, content_type__app_label="articles")
    )
    return User.objects.get(pk=user.pk)


def article_form(article: Article, **changes: Any) -> dict[str, Any]:
    """What the article's change page posts: its current values, with ``changes``."""
    assert article.published_version is not None
    return {
        "title": article.title,
        "slug": article.slug,
        "language": article.language,
        "categories": [c.pk for c in article.categories.all()],
        "backlink_price": str(article.backlink_price),
        "currency": article.currency,
        "max_backlinks": article.max_backlinks,
        "body_markdown": article.published_version.body_markdown,
        "versions-TOTAL_FORMS": 0,
        "versions-INITIAL_FORMS": 0,
        **changes,
    }


TYPED_PAID = (
    ARTICLE_BODY + '\nSleep on [cheap pillows](<https://pillows.example-shop.com/>){rel="sponsored"}.\n'
)


def test_an_editor_cannot_make_a_link_look_paid_by_typing_rel(client: Any) -> None:
    article = make_published_article()
    client.force_login(staff_with("ed", "view_article", "change_article", "add_article", "publish_article"))

    edited = client.post(
        f"/admin/articles/article/{article.pk}/change/", article_form(article, body_markdown=TYPED_PAID)
    )
    added = client.post(
        "/admin/articles/article/add/",
        {**article_form(article, title="A New One", slug="a-new-one", body_markdown=TYPED_PAID)},
    )

    for response in (edited, added):
        assert response.status_code == 200
        assert (
            "Remove {rel=…} from [cheap pillows](https://pillows.example-shop.com/)"
            in response.content.decode()
        )
    assert ArticleVersion.objects.filter(article=article).count() == 1
    assert not Article.objects.filter(slug="a-new-one").exists()
    assert "pillows.example-shop.com" not in client.get(f"/articles/{article.slug}/").content.decode()


def test_an_editor_may_publish_plain_links_by_editing(client: Any) -> None:
    article = make_published_article()
    editor = staff_with("ed", "view_article", "change_article", "publish_article")
    client.force_login(editor)
    plain = TYPED_PAID.replace('{rel="sponsored"}', "")

    response = client.post(
        f"/admin/articles/article/{article.pk}/change/", article_form(article, body_markdown=plain)
    )

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.published_version is not None
    # The form strips surrounding whitespace, as Django's CharField does.
    assert (article.published_version.body_markdown, article.published_version.published_by) == (
        plain.strip(),
        editor,
    )


def test_an_editor_without_publish_permission_cannot_publish_by_editing(client: Any) -> None:
    article = make_published_article()
    client.force_login(staff_with("clerk", "view_article", "change_article"))
    url = f"/admin/articles/article/{article.pk}/change/"

    page = client.get(url).content.decode()
    by_text = client.post(url, article_form(article, body_markdown=ARTICLE_BODY + "\nBuy now.\n"))
    by_title = client.post(url, article_form(article, title="Buy Pillows Here"))

    assert "needs the “Can publish articles” permission" in page
    assert (
        'name="body_markdown"' in page and "disabled" in page.split('name="body_markdown"')[1].split(">")[0]
    )
    for response in (by_text, by_title):
        assert response.status_code == 200
        assert "You do not have permission to publish articles" in response.content.decode()
    article.refresh_from_db()
    assert ArticleVersion.objects.filter(article=article).count() == 1
    assert article.title.startswith("Ten Ways to Sleep Better")


def test_an_editor_without_publish_permission_may_still_change_price_and_slots(client: Any) -> None:
    article = make_published_article()
    client.force_login(staff_with("clerk", "view_article", "change_article"))
    # A browser does not post disabled fields.
    form = article_form(article, backlink_price="59.00", max_backlinks=5)
    del form["title"], form["body_markdown"]

    response = client.post(f"/admin/articles/article/{article.pk}/change/", form)

    assert response.status_code == 302
    article.refresh_from_db()
    assert (str(article.backlink_price), article.max_backlinks) == ("59.00", 5)
    assert ArticleVersion.objects.filter(article=article).count() == 1


def test_adding_an_article_which_publishes_it_needs_the_publish_permission(client: Any) -> None:
    client.force_login(staff_with("clerk", "view_article", "change_article", "add_article"))

    assert client.get("/admin/articles/article/add/").status_code == 403
    assert (
        client.post("/admin/articles/article/add/", {"title": "Sneaky", "body_markdown": "Hi."}).status_code
        == 403
    )
    assert not Article.objects.filter(title="Sneaky").exists()


def test_staff_add_a_category_and_file_an_article_under_it_with_its_language(client: Any) -> None:
    article = make_published_article()
    client.force_login(
        staff_with("ed", "view_article", "change_article", "publish_article", "add_category", "view_category")
    )

    added = client.post(
        "/admin/articles/category/add/", {"name": "Garden", "slug": "garden", "description": "Plants."}
    )
    garden = Category.objects.get(slug="garden")
    changed = client.post(
        f"/admin/articles/article/{article.pk}/change/",
        article_form(article, language="de", categories=[garden.pk]),
    )

    assert (added.status_code, changed.status_code) == (302, 302)
    article.refresh_from_db()
    assert article.language == "de"
    assert list(article.categories.all()) == [garden]


def test_a_language_outside_the_settings_list_is_refused_in_admin(client: Any) -> None:
    article = make_published_article()
    client.force_login(staff_with("ed", "view_article", "change_article", "publish_article"))

    response = client.post(
        f"/admin/articles/article/{article.pk}/change/", article_form(article, language="xx")
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    article.refresh_from_db()
    assert article.language == "en"


def test_an_editor_without_publish_permission_may_still_file_an_article(client: Any) -> None:
    article = make_published_article()
    garden = category_ensure(slug="garden", name="Garden")
    client.force_login(staff_with("clerk", "view_article", "change_article"))
    form = article_form(article, language="fr", categories=[garden.pk])
    del form["title"], form["body_markdown"]

    assert client.post(f"/admin/articles/article/{article.pk}/change/", form).status_code == 302

    article.refresh_from_db()
    assert (article.language, list(article.categories.all())) == ("fr", [garden])
    assert ArticleVersion.objects.filter(article=article).count() == 1  # filing is not publishing


def test_the_article_list_filters_by_language_and_category(admin_client: Any) -> None:
    garden = category_ensure(slug="garden", name="Garden")
    make_published_article(title="Balkon", language="de", categories=[garden])
    make_published_article(title="Desk")

    by_language = admin_client.get("/admin/articles/article/", {"language__exact": "de"}).content.decode()
    by_category = admin_client.get("/admin/articles/article/", {"categories__id__exact": garden.pk})
    categories = admin_client.get("/admin/articles/category/").content.decode()

    assert "Balkon" in by_language and "Desk" not in by_language
    assert "Balkon" in by_category.content.decode() and "Desk" not in by_category.content.decode()
    assert 'class="field-article_count">1<' in categories
