from typing import Any

import pytest
from django.db import transaction

from purchases.models import ALLOWED_TRANSITIONS, IllegalTransition, Order, OrderStatus, OrderTransition
from purchases.services.orders import order_transition
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("from_status", list(OrderStatus))
def test_every_move_not_listed_raises_and_changes_nothing(article: Any, from_status: str) -> None:
    order, _ = make_order(article)
    Order.objects.filter(pk=order.pk).update(status=from_status)
    for to_status in set(OrderStatus) - ALLOWED_TRANSITIONS[from_status]:
        order.refresh_from_db()
        with pytest.raises(IllegalTransition), transaction.atomic():
            order_transition(order=order, to_status=to_status, source="test")
        order.refresh_from_db()
        assert order.status == from_status
    assert not OrderTransition.objects.filter(order=order).exists()


def test_refunded_is_final() -> None:
    assert ALLOWED_TRANSITIONS[OrderStatus.REFUNDED] == frozenset()


def test_an_illegal_move_tells_the_customer_in_words_and_keeps_the_move_for_the_logs() -> None:
    order = Order(status=OrderStatus.PROCESSING)

    with pytest.raises(IllegalTransition) as refused:
        order.move_to(OrderStatus.PUBLISHED)

    assert refused.value.message == "That is not possible for this order now: a draft is being written."
    assert "PROCESSING -> PUBLISHED" in str(refused.value)
    assert refused.value.code == "action_not_allowed"
