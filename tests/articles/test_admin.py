"""Staff see each version's token usage and estimated cost; the order's total is on its review page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.drafting.attempts import Usage
from articles.models import ArticleVersion
from articles.services import article_create_draft
from purchases.services.draft_versions import order_version_create
from tests.factories import make_article_order, make_published_article

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
