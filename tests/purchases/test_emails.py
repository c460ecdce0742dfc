"""Customer email: queued with the state change that owes it, sent once, only after the commit."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from purchases.models import EmailKind, EmailRecord
from purchases.services.emails import order_email_queue
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


class StateChangeFailed(Exception):
    pass


def test_an_email_queued_in_a_transaction_that_rolls_back_is_never_sent(
    article: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)

    with pytest.raises(StateChangeFailed), transaction.atomic():
        order_email_queue(order=order, kind=EmailKind.ORDER_FAILED, key="failed", note="No slot left.")
        raise StateChangeFailed

    assert mailoutbox == []
    assert not EmailRecord.objects.filter(order=order).exists()


def test_an_email_queued_in_a_transaction_is_sent_once_after_the_commit(
    article: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)

    with transaction.atomic():
        order_email_queue(order=order, kind=EmailKind.ORDER_FAILED, key="failed", note="No slot left.")
        order_email_queue(order=order, kind=EmailKind.ORDER_FAILED, key="failed", note="No slot left.")
        assert mailoutbox == []  # nothing leaves before the commit

    assert [(m.to, m.subject) for m in mailoutbox] == [
        ([order.customer_email], "We could not complete your order")
    ]
    assert "No slot left." in mailoutbox[0].body
    assert EmailRecord.objects.get(order=order).sent_at is not None
