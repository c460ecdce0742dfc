from typing import Any

import pytest

from tests.factories import make_order, make_published_article

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_published_articles_with_slots_left(
    api: Any, django_assert_num_queries: Any
) -> None:
    full = make_published_article(max_backlinks=1)
    make_order(full)
    open_one = make_published_article()
    make_published_article(publish=False)
    with django_assert_num_queries(4):  # the count, the page, its published texts, its categories
        data = api.get("/api/v1/articles/").json()["results"]
    by_id = {a["id"]: a for a in data}
    assert set(by_id) == {full.pk, open_one.pk}
    assert by_id[full.pk]["slotsLeft"] == 0
    assert by_id[open_one.pk]["slotsLeft"] == 3
    assert by_id[open_one.pk]["price"] == "49.00"
    assert by_id[open_one.pk]["excerpt"].startswith("Good sleep is the cheapest")  # not the title again
    assert {"id", "slug", "title", "excerpt", "price", "currency", "slotsLeft"} <= set(by_id[open_one.pk])


def test_the_detail_has_the_published_markdown_and_sanitized_html(api: Any) -> None:
    article = make_published_article()
    data = api.get(f"/api/v1/articles/{article.pk}/").json()
    assert data["bodyMarkdown"].startswith("# Ten Ways")
    assert '<a href="https://www.sleepfoundation.org/">sleep foundation</a>' in data["bodyHtml"]


def test_unknown_or_unpublished_articles_are_404(api: Any) -> None:
    hidden = make_published_article(publish=False)
    assert api.get(f"/api/v1/articles/{hidden.pk}/").status_code == 404
    assert api.get("/api/v1/articles/999999/").json()["error"]["code"] == "not_found"


def test_the_public_page_renders_the_published_version(client: Any) -> None:
    article = make_published_article()
    response = client.get(f"/articles/{article.slug}/")
    assert response.status_code == 200
    assert b"Keep a schedule" in response.content


def test_the_openapi_schema_and_docs_are_served(client: Any) -> None:
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
