"""The catalog's filters, search, sorts and pages: ``GET /api/v1/articles/`` and the home page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import RequestFactory
from rest_framework.request import Request

from articles.models import Article, Category
from articles.services import category_ensure, version_create, version_publish
from purchases.catalog.filters import CatalogPagination
from purchases.catalog.selectors import CatalogQuery, article_catalog_search
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order, make_published_article

pytestmark = pytest.mark.django_db

LIST = "/api/v1/articles/"


def listed(api: Any, query: str = "") -> list[str]:
    response = api.get(f"{LIST}?{query}")
    assert response.status_code == 200, response.json()
    return [a["slug"] for a in response.json()["results"]]


def refused(api: Any, query: str) -> dict[str, Any]:
    response = api.get(f"{LIST}?{query}")
    assert response.status_code == 400
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid"
    return error


def pay(api: Any, article: Article) -> None:
    order, _ = make_order(article)
    assert signed_post(api, checkout_event(order, event_id=f"evt_{order.pk}")).status_code == 200


@pytest.fixture
def shop(api: Any) -> dict[str, Article]:
    """Four articles, oldest first: desk (en, 79, 1 slot left), coffee (en, 59, 3 left),
    garden (de, 45, 0 left), remote (en, 99, 3 left, unpublished text edit pending)."""
    office = category_ensure(slug="home-office", name="Home office")
    food = category_ensure(slug="food-drink", name="Food & drink")
    garden = category_ensure(slug="garden", name="Garden & balcony")
    desk = make_published_article(
        title="Choosing a Standing Desk", slug="desk", backlink_price=Decimal("79.00"), categories=[office]
    )
    coffee = make_published_article(
        title="Brewing Coffee", slug="coffee", backlink_price=Decimal("59.00"), categories=[food]
    )
    balcony = make_published_article(
        title="Kräuter auf dem Balkon",
        slug="balcony",
        backlink_price=Decimal("45.00"),
        language="de",
        categories=[garden, food],
        max_backlinks=1,
    )
    remote = make_published_article(
        title="Remote Teams", slug="remote", backlink_price=Decimal("99.00"), categories=[office]
    )
    pay(api, desk)
    pay(api, desk)
    make_order(balcony)  # an open checkout holds its one slot
    return {"desk": desk, "coffee": coffee, "balcony": balcony, "remote": remote}


def test_the_list_is_paginated_and_each_article_has_its_categories_language_and_slots(
    api: Any, shop: dict[str, Article]
) -> None:
    data = api.get(LIST).json()

    assert set(data) == {"count", "next", "previous", "results"}
    assert (data["count"], data["next"], data["previous"]) == (4, None, None)
    by_slug = {a["slug"]: a for a in data["results"]}
    assert by_slug["balcony"]["categories"] == [
        {"slug": "food-drink", "name": "Food & drink"},
        {"slug": "garden", "name": "Garden & balcony"},
    ]
    assert by_slug["balcony"]["language"] == "de"
    assert {slug: a["slotsLeft"] for slug, a in by_slug.items()} == {
        "desk": 1,
        "coffee": 3,
        "balcony": 0,
        "remote": 3,
    }
    assert set(by_slug["desk"]) == {
        "id",
        "slug",
        "title",
        "excerpt",
        "price",
        "currency",
        "slotsLeft",
        "language",
        "categories",
    }


def test_categories_filter_by_slug_and_several_mean_any_of_them_without_repeats(
    api: Any, shop: dict[str, Article]
) -> None:
    assert listed(api, "category=home-office") == ["remote", "desk"]
    assert listed(api, "category=garden&category=food-drink") == ["balcony", "coffee"]
    assert listed(api, "category=garden,home-office") == ["remote", "balcony", "desk"]


def test_an_unknown_category_is_refused_naming_the_field(api: Any, shop: dict[str, Article]) -> None:
    error = refused(api, "category=home-office&category=crypto")

    assert list(error["fields"]) == ["category"]
    assert "crypto" in error["fields"]["category"][0]


def test_language_filters_and_an_unknown_language_is_refused(api: Any, shop: dict[str, Article]) -> None:
    assert listed(api, "language=de") == ["balcony"]
    assert listed(api, "language=de&language=en") == ["remote", "balcony", "coffee", "desk"]
    assert list(refused(api, "language=xx")["fields"]) == ["language"]


def test_the_price_range_includes_its_ends(api: Any, shop: dict[str, Article]) -> None:
    assert listed(api, "minPrice=59&maxPrice=79") == ["coffee", "desk"]
    assert listed(api, "minPrice=80") == ["remote"]
    assert listed(api, "maxPrice=45.00") == ["balcony"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("minPrice=cheap", "minPrice"),
        ("maxPrice=-1", "maxPrice"),
        ("minPrice=1e400", "minPrice"),
        ("minPrice=80&maxPrice=60", "maxPrice"),
        ("minSlots=0", "minSlots"),
        ("minSlots=many", "minSlots"),
        ("sort=popular", "sort"),
        ("page=first", "page"),
        ("page=0", "page"),
        ("pageSize=-5", "pageSize"),
        (f"q={'x' * 101}", "q"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    api: Any, shop: dict[str, Article], query: str, field: str
) -> None:
    assert list(refused(api, query)["fields"]) == [field]


def test_free_slots_keep_articles_with_at_least_that_many_left(api: Any, shop: dict[str, Article]) -> None:
    assert listed(api, "minSlots=1") == ["remote", "coffee", "desk"]
    assert listed(api, "minSlots=2") == ["remote", "coffee"]


def test_search_finds_words_in_the_title_or_the_published_text_ignoring_case(
    api: Any, shop: dict[str, Article]
) -> None:
    assert listed(api, "q=standing DESK") == ["desk"]
    assert listed(api, "q=balkon") == ["balcony"]
    # Every test article has the sleep text; an edit that is not published does not count.
    remote = shop["remote"]
    version_publish(
        version=version_create(
            article=remote,
            title=remote.title,
            body_markdown="# Remote Teams\n\nWrite things down.",
            kind="edit",
        )
    )
    assert listed(api, "q=write things") == ["remote"]
    assert "remote" not in listed(api, "q=melatonin")
    version_create(article=remote, title=remote.title, body_markdown="Aardvarks everywhere.", kind="edit")
    assert listed(api, "q=aardvark") == []


def test_search_takes_percent_and_underscore_literally(api: Any, shop: dict[str, Article]) -> None:
    assert listed(api, "q=%25") == []
    assert listed(api, "q=_") == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["remote", "balcony", "coffee", "desk"]),
        ("-created", ["remote", "balcony", "coffee", "desk"]),
        ("created", ["desk", "coffee", "balcony", "remote"]),
        ("price", ["balcony", "coffee", "desk", "remote"]),
        ("-price", ["remote", "desk", "coffee", "balcony"]),
        ("slotsLeft", ["balcony", "desk", "remote", "coffee"]),
        ("-slotsLeft", ["remote", "coffee", "desk", "balcony"]),
    ],
)
def test_each_sort_orders_the_list(
    api: Any, shop: dict[str, Article], sort: str, expected: list[str]
) -> None:
    assert listed(api, f"sort={sort}") == expected


def test_filters_combine(api: Any, shop: dict[str, Article]) -> None:
    assert listed(api, "category=home-office&minSlots=2&language=en&sort=price") == ["remote"]


def test_pages_link_to_each_other_and_keep_the_query(api: Any, shop: dict[str, Article]) -> None:
    first = api.get(f"{LIST}?sort=price&pageSize=3").json()
    assert (first["count"], [a["slug"] for a in first["results"]]) == (4, ["balcony", "coffee", "desk"])
    assert first["previous"] is None
    assert "sort=price" in first["next"] and "page=2" in first["next"]

    second = api.get(first["next"]).json()
    assert [a["slug"] for a in second["results"]] == ["remote"]
    assert second["next"] is None and second["previous"]


def test_a_page_past_the_last_is_a_404(api: Any, shop: dict[str, Article]) -> None:
    response = api.get(f"{LIST}?page=9")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_page_size_is_capped_at_100() -> None:
    request = Request(RequestFactory().get(LIST, {"pageSize": "5000"}))
    assert CatalogPagination().get_page_size(request) == 100


QUERIES = [
    "",
    "sort=created",
    "sort=price",
    "sort=-price",
    "sort=slotsLeft",
    "sort=-slotsLeft",
    "language=de",
    "minPrice=40&maxPrice=80",
    "minSlots=1",
    "q=coffee",
    "q=coffee&language=en&minSlots=1&minPrice=1&sort=-slotsLeft&pageSize=2",
]


@pytest.mark.parametrize("query", QUERIES)
def test_each_filter_and_sort_is_a_count_a_page_its_texts_and_its_categories(
    api: Any, shop: dict[str, Article], django_assert_num_queries: Any, query: str
) -> None:
    with django_assert_num_queries(4):
        assert api.get(f"{LIST}?{query}").status_code == 200


def test_a_category_filter_adds_the_one_query_that_checks_the_slugs(
    api: Any, shop: dict[str, Article], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(5):
        assert api.get(f"{LIST}?category=garden&category=home-office&sort=price").status_code == 200


def test_the_number_of_queries_does_not_grow_with_the_catalog(
    api: Any, django_assert_num_queries: Any
) -> None:
    office = category_ensure(slug="home-office", name="Home office")
    food = category_ensure(slug="food-drink", name="Food & drink")
    for n in range(30):
        article = make_published_article(categories=[office, food] if n % 2 else [office])
        make_order(article)
    query = f"{LIST}?category=home-office&minSlots=1&sort=-slotsLeft&pageSize=100&q=sleep"

    with django_assert_num_queries(5):
        data = api.get(query).json()

    assert data["count"] == 30
    assert len(data["results"]) == 30


def test_the_excerpt_leaves_the_title_out(api: Any, shop: dict[str, Article]) -> None:
    for article in api.get(LIST).json()["results"]:
        assert not article["excerpt"].startswith(("Ten Ways", "#"))
        assert article["excerpt"].startswith("Good sleep is the cheapest")


# --- The home page: the same as a GET form.


def test_the_home_page_filters_shows_the_count_and_keeps_the_chosen_values(
    client: Any, shop: dict[str, Article]
) -> None:
    response = client.get("/", {"category": "home-office", "minSlots": "1", "sort": "price", "q": "desk"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>1</strong> article found" in html
    assert "Choosing a Standing Desk" in html and "Remote Teams" not in html
    assert 'value="home-office" checked' in html
    assert '<option value="price" selected>' in html
    assert 'name="minSlots" value="1"' in html
    assert 'name="q" value="desk"' in html


def test_the_home_page_ignores_blank_fields_as_a_form_sends_them(
    client: Any, shop: dict[str, Article]
) -> None:
    query = {"q": "", "language": "", "minPrice": "", "maxPrice": "", "minSlots": "", "sort": "-created"}
    response = client.get("/", query)

    assert response.status_code == 200
    assert "<strong>4</strong> articles found" in response.content.decode()


def test_the_home_page_says_which_filter_it_did_not_understand(client: Any, shop: dict[str, Article]) -> None:
    response = client.get("/", {"minPrice": "cheap", "sort": "price"})

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="e-min"' in html and "valid number" in html
    assert 'name="minPrice" value="cheap"' in html
    assert "articles found" not in html


def test_the_home_page_paginates_keeping_the_filters(client: Any, django_assert_num_queries: Any) -> None:
    office = category_ensure(slug="home-office", name="Home office")
    for _ in range(21):
        make_published_article(categories=[office])
    make_published_article(title="Elsewhere")

    # The categories for the form, the slug check, the count, the page, its texts and its categories.
    with django_assert_num_queries(6):
        first = client.get("/", {"category": "home-office"}).content.decode()
    assert "<strong>21</strong> articles found · page 1 of 2" in first
    assert first.count('class="catalog-item"') == 20
    assert 'href="?category=home-office&amp;page=2" rel="next"' in first
    second = client.get("/", {"category": "home-office", "page": "2"}).content.decode()
    assert second.count('class="catalog-item"') == 1
    assert 'href="?category=home-office&amp;page=1" rel="prev"' in second


def test_categories_are_listed_by_name(shop: dict[str, Article]) -> None:
    assert list(Category.objects.values_list("name", flat=True)) == [
        "Food & drink",
        "Garden & balcony",
        "Home office",
    ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("query", "index"),
    [
        (CatalogQuery(text="standing"), "article_title_trgm"),
        (CatalogQuery(text="melatonin"), "articleversion_body_trgm"),
        (CatalogQuery(), "article_newest_idx"),
        (CatalogQuery(sort="-price"), "article_price_idx"),
    ],
)
def test_the_catalog_queries_can_use_their_indexes(
    shop: dict[str, Article], query: CatalogQuery, index: str
) -> None:
    """With scans made expensive (a test table is too small for the planner to prefer an index),
    the plan must name the index: it exists (migration 0006) and matches the SQL Django writes."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    assert index in article_catalog_search(query=query)[:20].explain()
