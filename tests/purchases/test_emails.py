"""Customer email: queued with the state change that owes it, sent once, only after the commit.

Delivery is claim-then-send (purchases/services/emails.py): the provider is called with no
transaction open, a second deliverer leaves a claimed email alone, and a failed or abandoned send
is retried. The mail provider is the ``fake_mail`` backend (tests/fakes/mail_backend.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from purchases.models import EmailKind, EmailRecord, Order
from purchases.services.emails import email_record_deliver, order_email_queue
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "We could not complete your order"


class StateChangeFailed(Exception):
    pass


def queue_failed_email(order: Order) -> EmailRecord:
    with transaction.atomic():
        return order_email_queue(order=order, kind=EmailKind.ORDER_FAILED, key="failed", note="No slot left.")


def deliver_in_own_thread(record_id: int) -> bool:
    try:
        return email_record_deliver(record_id=record_id)
    finally:
        connection.close()


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

    assert [(m.to, m.subject) for m in mailoutbox] == [([order.customer_email], SUBJECT)]
    assert "No slot left." in mailoutbox[0].body
    assert EmailRecord.objects.get(order=order).sent_at is not None


def test_the_provider_is_called_with_no_transaction_open(article: Any, fake_mail: Any) -> None:
    order, _ = make_order(article)

    queue_failed_email(order)

    assert [(send.subjects, send.in_transaction) for send in fake_mail.sends] == [([SUBJECT], False)]


def test_a_second_deliverer_leaves_an_email_being_sent_alone_and_it_goes_out_once(
    article: Any, fake_mail: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    fake_mail.hold_next()  # a slow provider: the after-commit send waits there

    def queue_in_own_thread() -> EmailRecord:
        try:
            return queue_failed_email(order)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(queue_in_own_thread)
        try:
            assert fake_mail.sending.wait(timeout=10)
            record_id = EmailRecord.objects.get(order=order).pk
            # The reconciler comes by meanwhile: it neither waits for the first send nor sends again.
            assert pool.submit(deliver_in_own_thread, record_id).result(timeout=10) is False
        finally:
            fake_mail.release()
        first.result(timeout=10)

    assert [m.subject for m in mailoutbox] == [SUBJECT]
    record = EmailRecord.objects.get(order=order)
    assert record.sent_at is not None
    assert record.claimed_until is None


def test_a_failed_send_keeps_the_error_and_a_later_delivery_sends_it(
    article: Any, fake_mail: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    fake_mail.fail_next("provider down")

    record = queue_failed_email(order)

    record.refresh_from_db()
    assert (record.sent_at, record.claimed_until, record.error) == (None, None, "provider down")
    assert mailoutbox == []
    assert email_record_deliver(record_id=record.pk) is True
    assert email_record_deliver(record_id=record.pk) is False
    record.refresh_from_db()
    assert (record.sent_at is not None, record.error) == (True, "")
    assert [m.subject for m in mailoutbox] == [SUBJECT]


def test_an_email_claimed_by_a_deliverer_that_died_is_sent_once_its_lease_lapses(
    article: Any, fake_mail: Any, mailoutbox: Any
) -> None:
    order, _ = make_order(article)
    fake_mail.fail_next("provider down")
    record = queue_failed_email(order)
    claims = EmailRecord.objects.filter(pk=record.pk)

    claims.update(claimed_until=timezone.now() + timedelta(minutes=1))  # a deliverer is sending it
    assert email_record_deliver(record_id=record.pk) is False
    claims.update(claimed_until=timezone.now() - timedelta(seconds=1))  # that deliverer died
    assert email_record_deliver(record_id=record.pk) is True

    assert [m.subject for m in mailoutbox] == [SUBJECT]


def test_delivering_inside_a_transaction_is_refused(article: Any, fake_mail: Any) -> None:
    order, _ = make_order(article)
    fake_mail.fail_next("provider down")
    record = queue_failed_email(order)

    with pytest.raises(RuntimeError, match="outside a transaction"), transaction.atomic():
        email_record_deliver(record_id=record.pk)

    assert len(fake_mail.sends) == 1  # only the failed first try
