"""The editors' desk (/admin/desk/) and its counts on the admin index."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from purchases.desk import DESK_SECTIONS, desk_counts, duration_text
from purchases.models import Order, OrderStatus, OrderTransition
from tests.factories import make_order, make_published_article

pytestmark = pytest.mark.django_db

S = OrderStatus


def order_in(article: Any, status: str, *, since: timedelta = timedelta(0), **fields: Any) -> Order:
    """An order moved into ``status`` ``since`` ago (its recorded move), with ``fields`` set."""
    order, _ = make_order(article)
    values = {"status": status, "paid_at": timezone.now() - timedelta(days=3), **fields}
    Order.objects.filter(pk=order.pk).update(**values)
    move = OrderTransition.objects.create(
        order=order, from_status=S.QUALITY_CHECK, to_status=status, source="test"
    )
    OrderTransition.objects.filter(pk=move.pk).update(created_at=timezone.now() - since)
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


@pytest.fixture
def shop(db: Any) -> Any:
    return make_published_article(max_backlinks=50)


def desk(client: Any) -> str:
    answer = client.get("/admin/desk/")
    assert answer.status_code == 200
    return answer.content.decode()


def section(page: str, key: str) -> str:
    start = page.index(f'id="desk-{key}"')
    end = page.find("<section", start)
    return page[start : end if end != -1 else len(page)]


def test_the_desk_lists_each_kind_of_work_in_the_order_editors_should_take_it(
    client: Any, editor: User, shop: Any, settings: Any
) -> None:
    settings.REVIEW_TARGET_HOURS = 24
    # Created in another order than they entered review: the wait decides.
    middle = order_in(shop, S.ADMIN_REVIEW, since=timedelta(hours=10))
    oldest = order_in(shop, S.ADMIN_REVIEW, since=timedelta(hours=30))
    recent = order_in(shop, S.ADMIN_REVIEW, since=timedelta(hours=2))
    later = order_in(shop, S.SCHEDULED, publish_at=timezone.now() + timedelta(days=2), scheduled_by=editor)
    sooner = order_in(shop, S.SCHEDULED, publish_at=timezone.now() + timedelta(hours=3), scheduled_by=editor)
    failed = order_in(shop, S.FAILED, failure_reason="Quality checks failed 3 times")
    unpaid = order_in(shop, S.FAILED, paid_at=None, failure_reason="checkout expired")
    disputed = order_in(
        shop, S.PUBLISHED, dispute_id="dp_1", dispute_status="needs_response", disputed_at=timezone.now()
    )
    won = order_in(shop, S.PUBLISHED, dispute_id="dp_2", dispute_status="won", disputed_at=timezone.now())
    client.force_login(editor)

    page = desk(client)

    review = section(page, "review")
    positions = [review.index(str(o.id)[:8]) for o in (oldest, middle, recent)]
    assert positions == sorted(positions)
    assert review.count('class="overdue"') == 1 and "30 h (target 24 h)" in review
    assert "2 h (target 24 h)" in review
    scheduled = section(page, "scheduled")
    assert scheduled.index(str(sooner.id)[:8]) < scheduled.index(str(later.id)[:8])
    assert "(in 2 h 59 min)" in scheduled or "(in 3 h)" in scheduled
    failures = section(page, "failed")
    assert str(failed.id)[:8] in failures and str(unpaid.id)[:8] not in failures
    disputes = section(page, "disputed")
    assert str(disputed.id)[:8] in disputes and str(won.id)[:8] not in disputes
    assert "needs response" in disputes
    assert f"/admin/purchases/order/{oldest.id}/change/" in review


def test_the_admin_index_shows_the_desk_counts_with_the_overdue(client: Any, editor: User, shop: Any) -> None:
    order_in(shop, S.ADMIN_REVIEW, since=timedelta(hours=30))
    order_in(shop, S.ADMIN_REVIEW)
    order_in(shop, S.SCHEDULED, publish_at=timezone.now() + timedelta(days=1))
    client.force_login(editor)

    page = client.get("/admin/").content.decode()

    summary = page[page.index('id="desk-summary"') :]
    assert 'href="/admin/desk/"' in summary
    assert "2</strong> waiting for review" in summary and "1 overdue" in summary
    assert "1</strong> scheduled" in summary and "0</strong> disputed" in summary
    assert [c.count for c in desk_counts()] == [2, 1, 0, 0, 0, 0]


def test_the_desk_costs_the_same_queries_for_one_row_or_many(
    client: Any, editor: User, shop: Any, django_assert_num_queries: Any
) -> None:
    def one_of_each() -> None:
        order_in(shop, S.ADMIN_REVIEW, since=timedelta(hours=30))
        order_in(shop, S.SCHEDULED, publish_at=timezone.now() + timedelta(days=1), scheduled_by=editor)
        order_in(shop, S.FAILED, failure_reason="boom")
        order_in(
            shop, S.PUBLISHED, dispute_id="dp", dispute_status="under_review", disputed_at=timezone.now()
        )

    one_of_each()
    client.force_login(editor)
    with CaptureQueriesContext(connection) as first:
        desk(client)
    for _ in range(4):
        one_of_each()

    with django_assert_num_queries(len(first.captured_queries)):
        page = desk(client)
    assert page.count('class="overdue"') == 5
    # Two queries a section (its rows, its count), plus the session and the user.
    assert len(first.captured_queries) <= 2 * len(DESK_SECTIONS) + 3


def test_the_desk_is_for_staff_who_may_view_orders(client: Any, shop: Any) -> None:
    assert client.get("/admin/desk/").status_code == 302  # to the admin sign-in
    customer = User.objects.create_user("customer", "c@example.com", "pw")
    client.force_login(customer)
    assert client.get("/admin/desk/").status_code == 302
    bare_staff = User.objects.create_user("staff", "s@example.com", "pw", is_staff=True)
    client.force_login(bare_staff)
    assert client.get("/admin/desk/").status_code == 403
    assert 'id="desk-summary"' not in client.get("/admin/").content.decode()
    bare_staff.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(User.objects.get(pk=bare_staff.pk))
    assert client.get("/admin/desk/").status_code == 200
    assert 'id="desk-summary"' in client.get("/admin/").content.decode()


def test_customer_text_on_the_desk_is_shown_as_text(client: Any, editor: User) -> None:
    article = make_published_article(title="<img src=x onerror=alert(1)> Sleep")
    order_in(article, S.FAILED, failure_reason="<script>alert('x')</script> crashed")
    client.force_login(editor)

    page = desk(client)

    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert" in page


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=5, minutes=12), "5 h 12 min"),
        (timedelta(hours=30), "30 h"),
        (timedelta(days=3, hours=4), "3 d 4 h"),
        (timedelta(seconds=-5), "0 min"),
    ],
)
def test_waits_read_in_minutes_hours_or_days(delta: timedelta, text: str) -> None:
    assert duration_text(delta) == text
