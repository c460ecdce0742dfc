"""``blogorder.compiled_reads``: a read compiled once gives what the ORM's ``.get()`` gives, every time.

The order job's three compiled reads (the order for its run, the order locked, the email with its
order) are compared with the querysets they are built from on an order that went through the real
flow: every concrete field of every object they load, every annotation, the relations cached.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Model, Q
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from articles.models import Article
from articles.services import ARTICLE_NUMBERING_LOCK
from blogorder.compiled_reads import CompiledRead
from purchases.catalog.selectors import article_slots_used
from purchases.models import EmailRecord, Order, OrderStatus, StripeEvent, open_checkout_q, paid_slot_q
from purchases.services.draft_run import ORDER_FOR_RUN, _order_for_run_queryset
from purchases.services.emails import EMAIL_FOR_DELIVERY
from purchases.services.orders import ORDER_LOCK, orders_for_update
from purchases.services.payments import REFUND_WAITING, order_lock_for_payment, orders_for_payment
from queueing.models import JobRequest
from queueing.services import REQUEST_OF_JOB
from tests.factories import make_order, make_published_article
from tests.purchases.test_draft_run_queries import GOOD, paid_order, run_backlink_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def concrete_values(obj: Model | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def assert_same_read(
    read: Model, expected: Model, *, related: tuple[str, ...], annotations: tuple[str, ...] = ()
) -> None:
    """Equal on every field and annotation; each ``related`` path ("a__b") equal and cached."""
    assert type(read) is type(expected)
    assert concrete_values(read) == concrete_values(expected)
    assert read._state.adding is False and read._state.db == expected._state.db
    for name in annotations:
        assert getattr(read, name) == getattr(expected, name), name
    for path in related:
        mine, theirs = read, expected
        for step in path.split("__"):
            field = mine._meta.get_field(step)
            assert field.is_cached(mine), f"{path}: {step} not loaded with the read"  # type: ignore[union-attr]
            mine, theirs = getattr(mine, step), getattr(theirs, step)
            assert concrete_values(mine) == concrete_values(theirs), path


@contextmanager
def compiles() -> Iterator[list[int]]:
    """Count the ORM statements compiled inside (``SQLCompiler.as_sql`` calls)."""
    count = [0]
    original = SQLCompiler.as_sql

    def counted(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(self, *args, **kwargs)

    SQLCompiler.as_sql = counted  # type: ignore[method-assign]
    try:
        yield count
    finally:
        SQLCompiler.as_sql = original  # type: ignore[method-assign]


@pytest.fixture
def drafted(api: Any, article: Any, fake_stripe: Any, fake_openai: Any, mailoutbox: Any) -> Order:
    """An order whose first draft passed: QUALITY_CHECK, with a current version and an email sent."""
    fake_openai.script(GOOD)
    order = paid_order(api, article, event_id="evt_compiled_reads")
    run_backlink_jobs()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK and order.current_version_id is not None
    return order


def test_the_order_for_its_run_equals_the_orm_read(drafted: Order, django_assert_num_queries: Any) -> None:
    for run in (1, 2):  # run 1 has a request and a spend; run 2 has neither
        with django_assert_num_queries(1):
            read = ORDER_FOR_RUN.get(order_id=str(drafted.pk), run=run)
        expected = _order_for_run_queryset(order_id=drafted.pk, run=run).get()
        with django_assert_num_queries(0):
            assert_same_read(
                read,
                expected,
                related=("article", "article__published_version"),
                annotations=("run_purpose", "run_tokens_spent", "run_customer_messages"),
            )
    spent: Any = ORDER_FOR_RUN.get(order_id=drafted.pk, run=1)
    assert spent.run_tokens_spent > 0


def test_the_locked_order_equals_the_orm_read(drafted: Order, django_assert_num_queries: Any) -> None:
    with transaction.atomic():
        with django_assert_num_queries(1) as captured:
            read = ORDER_LOCK.get(order_id=drafted.pk)
        assert (
            "FOR UPDATE" in captured.captured_queries[0]["sql"]
        ) == connection.features.has_select_for_update
        expected = orders_for_update().get(pk=drafted.pk)
    with django_assert_num_queries(0):
        assert_same_read(read, expected, related=("article",))


def test_the_article_lock_of_version_numbering_equals_the_orm_read(
    drafted: Order, django_assert_num_queries: Any
) -> None:
    article_id = drafted.article_id
    assert article_id is not None
    with transaction.atomic():
        with django_assert_num_queries(1) as captured:
            read = ARTICLE_NUMBERING_LOCK.get(article_id=article_id)
        assert (
            "FOR UPDATE" in captured.captured_queries[0]["sql"]
        ) == connection.features.has_select_for_update
        expected = Article.objects.select_for_update().only("id").get(pk=article_id)
    assert type(read) is type(expected) and read.pk == expected.pk
    assert read.get_deferred_fields() == expected.get_deferred_fields() != set()
    assert read._state.adding is False and read._state.db == expected._state.db


def test_the_request_of_a_job_equals_the_orm_read(drafted: Order, django_assert_num_queries: Any) -> None:
    job_id = drafted.queue_job_id
    with django_assert_num_queries(1):
        read = REQUEST_OF_JOB.get(job_id=job_id)
    assert read.pk == JobRequest.objects.filter(job_id=job_id).values_list("pk", flat=True).first()
    assert (
        read.get_deferred_fields() == JobRequest.objects.only("pk").get(job_id=job_id).get_deferred_fields()
    )
    with pytest.raises(JobRequest.DoesNotExist):
        REQUEST_OF_JOB.get(job_id="no-such-job")


def test_the_email_for_delivery_equals_the_orm_read(drafted: Order, django_assert_num_queries: Any) -> None:
    record = EmailRecord.objects.get(order=drafted)
    with django_assert_num_queries(1):
        read = EMAIL_FOR_DELIVERY.get(record_id=record.pk)
    expected = EmailRecord.objects.select_related("order__article", "order__current_version").get(
        pk=record.pk
    )
    with django_assert_num_queries(0):
        assert_same_read(read, expected, related=("order", "order__article", "order__current_version"))


def test_a_read_is_compiled_once_per_thread(drafted: Order) -> None:
    ORDER_FOR_RUN.get(order_id=drafted.pk, run=1)
    with compiles() as count:
        for run in (1, 2, 3):
            assert ORDER_FOR_RUN.get(order_id=drafted.pk, run=run).pk == drafted.pk
    assert count[0] == 0

    def other_thread() -> None:
        try:
            ORDER_FOR_RUN.get(order_id=drafted.pk, run=1)
        finally:
            from django.db import connection

            connection.close()

    with compiles() as count:  # another thread has its own connection, so its own statement
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert count[0] == 1


def test_a_missing_row_raises_does_not_exist_and_a_bad_id_a_validation_error(drafted: Order) -> None:
    with pytest.raises(Order.DoesNotExist):
        ORDER_FOR_RUN.get(order_id=uuid.uuid4(), run=1)
    with pytest.raises(ValidationError):
        ORDER_FOR_RUN.get(order_id="not-a-uuid", run=1)
    with pytest.raises(EmailRecord.DoesNotExist):
        EMAIL_FOR_DELIVERY.get(record_id=-1)


def test_more_than_one_row_raises_multiple_objects_returned(article: Any) -> None:
    read = CompiledRead(lambda email: Order.objects.filter(customer_email=email), params={"email": str})
    first, _ = make_order(article, customer_email="same@example.com")
    assert read.get(email="same@example.com").pk == first.pk
    make_order(article, customer_email="same@example.com")
    with pytest.raises(Order.MultipleObjectsReturned):
        read.get(email="same@example.com")


def test_the_locked_read_needs_a_transaction(drafted: Order) -> None:
    with pytest.raises(TransactionManagementError):
        ORDER_LOCK.get(order_id=drafted.pk)


def test_a_parameter_the_statement_does_not_carry_as_given_is_refused(db: Any) -> None:
    read = CompiledRead(
        lambda email: Order.objects.filter(customer_email__iexact=email.upper()), params={"email": str}
    )
    with pytest.raises(ValueError, match="email"):
        read.get(email="a@example.com")
    with pytest.raises(TypeError):
        CompiledRead(lambda when: Order.objects.filter(created_at=when), params={"when": float})


def test_the_payment_lock_equals_the_orm_read_by_id_and_by_session(
    article: Any, django_assert_num_queries: Any
) -> None:
    """The webhook's read of the order it pays (``order_lock_for_payment``), refund waiting or not."""
    order, _ = make_order(article)
    StripeEvent.objects.create(
        event_id="evt_refund_early",
        type="charge.refunded",
        payload={"data": {"object": {"payment_intent": "pi_waiting", "amount_refunded": 100}}},
    )
    for intent, waiting in (("pi_waiting", True), ("pi_other", False), ("", False)):
        for lookup in ({"pk": order.pk}, {"stripe_checkout_session_id": order.stripe_checkout_session_id}):
            with transaction.atomic():
                with django_assert_num_queries(1) as captured:
                    read = order_lock_for_payment(payment_intent_id=intent, **lookup)
                assert (
                    "FOR UPDATE" in captured.captured_queries[0]["sql"]
                ) == connection.features.has_select_for_update
                expected = orders_for_payment(payment_intent_id=intent).filter(**lookup).get()
            assert read is not None
            with django_assert_num_queries(0):
                assert_same_read(read, expected, related=("article",), annotations=(REFUND_WAITING,))
            assert getattr(read, REFUND_WAITING) is waiting, (intent, lookup)
    with transaction.atomic():
        assert order_lock_for_payment(payment_intent_id="pi_waiting", pk=uuid.uuid4()) is None
        assert order_lock_for_payment(payment_intent_id="", stripe_checkout_session_id="cs_none") is None


def test_a_datetime_parameter_is_given_to_the_database_as_it_takes_datetimes(article: Any) -> None:
    """PostgreSQL takes the datetime itself, SQLite its text: either way the read is the ORM's."""
    orders = [make_order(article)[0] for _ in range(3)]
    read = CompiledRead(
        lambda pk, before: Order.objects.filter(pk=pk, created_at__lt=before),
        params={"pk": uuid.UUID, "before": datetime},
    )
    for order in orders:
        just_after = order.created_at + timedelta(microseconds=1)
        assert read.get(pk=order.pk, before=just_after).pk == order.pk
        with pytest.raises(Order.DoesNotExist):
            read.get(pk=order.pk, before=order.created_at)
    with pytest.raises(TypeError):
        read.get(pk=orders[0].pk, before="2026-01-01")


def _slots_held_by_the_orm(article_id: int, exclude: Any = None) -> int:
    """``article_slots_used`` as the ORM's aggregate counts it (the statement before it was compiled)."""
    now = timezone.now()
    backlink = Q(kind=Order.Kind.BACKLINK)
    paid, unpaid = backlink & paid_slot_q(), backlink & open_checkout_q(now=now)
    qs = Order.objects.filter(article_id=article_id)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    counts = qs.aggregate(paid=Count("pk", filter=paid), unpaid=Count("pk", filter=unpaid))
    cap = settings.UNPAID_HOLDS_PER_ARTICLE
    return int(counts["paid"]) + (int(counts["unpaid"]) if cap is None else min(int(counts["unpaid"]), cap))


@pytest.mark.parametrize("cap", [None, 2])
def test_the_slots_an_article_has_taken_are_the_orm_count_in_one_statement(
    article: Any, settings: Any, cap: int | None, django_assert_num_queries: Any
) -> None:
    settings.UNPAID_HOLDS_PER_ARTICLE = cap
    other = make_published_article(max_backlinks=50)
    article.max_backlinks = 50
    article.save(update_fields=["max_backlinks"])
    made = {name: make_order(article)[0] for name in ("open", "open2", "open3", "expired", "paid", "done")}
    made.update(failed_unpaid=make_order(article)[0], refunded=make_order(article)[0])
    make_order(other)  # another article's hold counts for that one only
    past = timezone.now() - timedelta(hours=1)
    Order.objects.filter(pk=made["expired"].pk).update(checkout_expires_at=past)
    Order.objects.filter(pk=made["paid"].pk).update(status=OrderStatus.PROCESSING, paid_at=past)
    Order.objects.filter(pk=made["done"].pk).update(status=OrderStatus.PUBLISHED, paid_at=past)
    Order.objects.filter(pk=made["failed_unpaid"].pk).update(status=OrderStatus.FAILED)
    Order.objects.filter(pk=made["refunded"].pk).update(status=OrderStatus.REFUNDED, paid_at=past)

    for exclude in (None, made["open"].pk, made["paid"].pk, uuid.uuid4()):
        with django_assert_num_queries(1):
            used = article_slots_used(article_id=article.pk, exclude_order_id=exclude)
        assert used == _slots_held_by_the_orm(article.pk, exclude), exclude
    # Paid: PROCESSING and PUBLISHED; open: three, or the cap of two.
    assert article_slots_used(article_id=article.pk) == 2 + (3 if cap is None else 2)
    assert article_slots_used(article_id=other.pk) == 1
    assert article_slots_used(article_id=-1) == 0
