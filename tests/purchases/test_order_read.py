"""``purchases.order_read``: the status poll's one-statement read gives what the ORM's read gives.

Orders are brought to every state through the real flows (``test_status_queries.STATES``), then read
both ways; every concrete field of the order, its article and its current version, and every
annotation, must be equal, with the related objects cached (no query when they are used).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from purchases.models import Order
from purchases.order_read import RELATED, order_read, order_read_annotations
from tests.blogorder.test_compiled_reads import assert_same_read
from tests.factories import make_article_order, make_order
from tests.purchases.test_status_queries import GOOD, STATES, editor  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def _orm_read(pk: Any) -> Order:
    return Order.objects.select_related(*RELATED).annotate(**order_read_annotations()).get(pk=pk)


def _assert_same(read: Order | None, pk: Any, django_assert_num_queries: Any) -> None:
    expected = _orm_read(pk)
    assert read is not None
    with django_assert_num_queries(0):  # the relations came with the read
        assert_same_read(read, expected, related=RELATED, annotations=tuple(order_read_annotations()))


@pytest.mark.parametrize("state", list(STATES))
def test_the_one_statement_read_equals_the_orm_read_in_every_state(
    state: str,
    api: Any,
    article: Any,
    fake_stripe: Any,
    fake_openai: Any,
    run_worker: Any,
    editor: Any,  # noqa: F811
    django_assert_num_queries: Any,
) -> None:
    fake_openai.script(GOOD)
    order, token = make_order(article)
    bring, expected_status, _ = STATES[state]
    bring(api, order, token, fake_stripe, run_worker, editor)

    with django_assert_num_queries(1):
        read = order_read(order.id)

    assert read is not None and read.status == expected_status
    _assert_same(read, order.id, django_assert_num_queries)


def test_an_order_without_article_or_draft_reads_them_as_none(django_assert_num_queries: Any) -> None:
    order, _ = make_article_order()  # a new-article order gets its article with its first draft

    read = order_read(order.id)

    assert read is not None
    with django_assert_num_queries(0):
        assert read.article is None and read.current_version is None
    _assert_same(read, order.id, django_assert_num_queries)


def test_an_unknown_order_reads_as_none(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        assert order_read(uuid.uuid4()) is None
