"""An order's drafts are linked from the order side; one job run stores one draft."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from articles.models import Article, ArticleVersion
from purchases.models import Order
from purchases.services.draft_versions import VersionFields, order_version_create
from tests.factories import make_order, make_published_article

pytestmark = pytest.mark.django_db


def _store(order: Order, article: Article, run: int | None) -> ArticleVersion:
    fields: VersionFields = {
        "article": article,
        "title": "Draft",
        "body_markdown": "Body.",
        "kind": ArticleVersion.Kind.BACKLINK,
        "base_version": None,
        "backlink_metadata": {},
    }
    return order_version_create(order=order, run=run, fields=fields, qc_report={})


def test_a_stored_draft_is_listed_on_its_order_with_its_run() -> None:
    article = make_published_article()
    order, _ = make_order(article)

    version = _store(order, article, 1)

    assert list(order.drafts.all()) == [version]
    assert version.order_draft.run == 1


def test_a_run_stored_twice_keeps_one_draft_and_rolls_the_second_version_back() -> None:
    article = make_published_article()
    order, _ = make_order(article)
    _store(order, article, 1)
    versions_before = ArticleVersion.objects.count()

    with pytest.raises(IntegrityError), transaction.atomic():
        _store(order, article, 1)

    assert order.drafts.count() == 1
    assert ArticleVersion.objects.count() == versions_before


def test_carry_overs_without_a_run_may_be_several() -> None:
    article = make_published_article()
    order, _ = make_order(article)

    _store(order, article, None)
    _store(order, article, None)

    assert order.drafts.count() == 2


def test_staff_find_which_order_wrote_a_version_without_a_query_per_row(admin_client: Any) -> None:
    article = make_published_article(title="Ten Ways to Sleep Better")
    order, _ = make_order(article)
    _store(order, article, 1)
    with CaptureQueriesContext(connection) as one:
        admin_client.get("/admin/purchases/orderdraft/")
    for run in (2, 3, 4):
        _store(order, article, run)

    with CaptureQueriesContext(connection) as four:
        listing = admin_client.get(f"/admin/purchases/orderdraft/?q={order.id}").content.decode()

    assert listing.count("Ten Ways to Sleep Better — v") == 4
    assert len(four.captured_queries) == len(one.captured_queries)
