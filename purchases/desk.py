"""The editors' desk: the work waiting for editors across orders, one section per kind of work (reads only).

``DESK_SECTIONS`` is the one list of sections: each is a title, a selector (a queryset of orders in
the order editors should take them) and its columns. The desk page (``/admin/desk/``,
``purchases.admin_desk``) shows up to ``DESK_ROWS`` rows of each with its count, and the admin index
the counts (``desk_counts``). Each section costs two queries (its rows, its count), whatever
the number of rows. Adding a section is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from purchases.admin import KIND_LABELS
from purchases.models import Order, OrderStatus
from purchases.selectors import (
    orders_awaiting_approval,
    orders_awaiting_staff_reply,
    orders_disputed,
    orders_failed_unrefunded,
    orders_scheduled,
    orders_waiting_for_review,
)
from purchases.status_messages import publish_time_text
from purchases.tokens import ENTERED_STATUS_AT

# Rows shown per section; the count says how many there are in all.
DESK_ROWS = 50


def duration_text(delta: timedelta) -> str:
    """A wait as editors read it: "45 min", "5 h 12 min", "3 d 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Order, datetime], str]


@dataclass(frozen=True)
class DeskSection:
    key: str
    title: str
    selector: Callable[[], QuerySet[Order]]
    columns: tuple[Column, ...]
    # What the section means and what to do, in a sentence under its title.
    help: str = ""
    # The order list filtered to the same work, when the admin has that filter (``?status__exact=…``).
    list_query: str = ""
    # Rows needing attention now (past their target), as a filter on the selector's rows at ``now``:
    # highlighted on the desk and counted on the index.
    overdue: Callable[[datetime], Q] | None = None


@dataclass(frozen=True)
class DeskRow:
    url: str
    title: str
    cells: list[tuple[str, str]]  # (column title, value)
    overdue: bool


def _since(order: Order) -> datetime:
    return getattr(order, ENTERED_STATUS_AT, None) or order.updated_at


def review_overdue(now: datetime) -> Q:
    """Waiting for review longer than ``REVIEW_TARGET_HOURS`` (on ``orders_waiting_for_review``)."""
    return Q(**{f"{ENTERED_STATUS_AT}__lt": now - timedelta(hours=settings.REVIEW_TARGET_HOURS)})


def _waiting(order: Order, now: datetime) -> str:
    return f"{duration_text(now - _since(order))} (target {settings.REVIEW_TARGET_HOURS} h)"


def _publishes(order: Order, now: datetime) -> str:
    if order.publish_at is None:
        return "—"
    due = order.publish_at - now
    when = "due now" if due.total_seconds() <= 0 else f"in {duration_text(due)}"
    return f"{publish_time_text(order.publish_at)} ({when})"


def _title(order: Order, now: datetime) -> str:
    return Truncator(order.display_title).chars(60)


KIND = Column("Kind", lambda order, now: KIND_LABELS.get(order.kind, order.get_kind_display()))
ARTICLE = Column("Article", _title)
CUSTOMER = Column("Customer", lambda order, now: order.customer_email)
AMOUNT = Column("Amount", lambda order, now: f"{order.amount} {order.currency.upper()}")

DESK_SECTIONS: tuple[DeskSection, ...] = (
    DeskSection(
        key="review",
        title="Waiting for review",
        selector=orders_waiting_for_review,
        columns=(KIND, ARTICLE, CUSTOMER, Column("Waiting", _waiting)),
        help="Drafts customers submitted, the longest wait first; past the target they are marked overdue.",
        list_query=f"status__exact={OrderStatus.ADMIN_REVIEW}",
        overdue=review_overdue,
    ),
    DeskSection(
        key="scheduled",
        title="Scheduled",
        selector=orders_scheduled,
        columns=(
            KIND,
            ARTICLE,
            Column("Publishes", _publishes),
            Column("By", lambda o, now: str(o.scheduled_by or "—")),
        ),
        help="Approved and waiting for their publishing time, the next first.",
        list_query=f"status__exact={OrderStatus.SCHEDULED}",
    ),
    DeskSection(
        key="failed",
        title="Failed, not refunded",
        selector=orders_failed_unrefunded,
        columns=(
            ARTICLE,
            CUSTOMER,
            AMOUNT,
            Column("Failed", lambda order, now: f"{duration_text(now - _since(order))} ago"),
            Column("Why", lambda order, now: Truncator(order.failure_reason).chars(80)),
        ),
        help="Paid orders that failed: try again or refund.",
        list_query=f"status__exact={OrderStatus.FAILED}",
    ),
    DeskSection(
        key="disputed",
        title="Disputed",
        selector=orders_disputed,
        columns=(
            ARTICLE,
            CUSTOMER,
            AMOUNT,
            Column("Dispute", lambda order, now: order.dispute_status.replace("_", " ") or "open"),
            Column(
                "Opened",
                lambda order, now: (
                    f"{duration_text(now - order.disputed_at)} ago" if order.disputed_at else "—"
                ),
            ),
            Column("Order status", lambda order, now: order.get_status_display()),
        ),
        help="Chargebacks still open at the bank: answer them in Stripe; the link may have to come down.",
    ),
    DeskSection(
        key="messages",
        title="Messages unanswered",
        selector=orders_awaiting_staff_reply,
        columns=(
            KIND,
            ARTICLE,
            CUSTOMER,
            Column(
                "Wrote",
                lambda order, now: f"{duration_text(now - order.last_message_at)} ago",  # type: ignore[attr-defined]
            ),
        ),
        help="Customers' messages no editor has answered yet, the oldest first: answer on the review page.",
    ),
    DeskSection(
        key="approval",
        title="Waiting for approval",
        selector=orders_awaiting_approval,
        columns=(
            KIND,
            ARTICLE,
            CUSTOMER,
            Column("Target", lambda order, now: Truncator(order.target_url).chars(60)),
        ),
        help="Paid orders whose link target staff must accept (writing starts) or decline (full refund), oldest first.",
        list_query=f"status__exact={OrderStatus.AWAITING_APPROVAL}",
    ),
)


OVERDUE = "desk_overdue"


def _row(order: Order, section: DeskSection, now: datetime) -> DeskRow:
    return DeskRow(
        url=reverse("admin:purchases_order_change", args=[order.pk]),
        title=str(order.id)[:8],
        cells=[(column.title, column.value(order, now)) for column in section.columns],
        overdue=bool(getattr(order, OVERDUE, False)),
    )


@dataclass(frozen=True)
class DeskCount:
    key: str
    title: str
    count: int
    overdue: int


def _section_count(section: DeskSection, now: datetime) -> DeskCount:
    """The section's count and how many of its rows are overdue: one query."""
    overdue = Count("pk", filter=section.overdue(now)) if section.overdue else None
    counts = (
        section.selector()
        .order_by()
        .aggregate(total=Count("pk"), **({"overdue": overdue} if overdue else {}))
    )
    return DeskCount(section.key, section.title, int(counts["total"]), int(counts.get("overdue") or 0))


@dataclass(frozen=True)
class DeskTable:
    section: DeskSection
    counts: DeskCount
    rows: list[DeskRow]

    @property
    def more(self) -> int:
        return self.counts.count - len(self.rows)


def desk_tables(
    *, now: datetime | None = None, sections: tuple[DeskSection, ...] = DESK_SECTIONS
) -> list[DeskTable]:
    """Each section's first ``DESK_ROWS`` rows (overdue ones marked) and its count: two queries a section."""
    now = now or timezone.now()
    tables = []
    for section in sections:
        rows = section.selector().select_related("article", "scheduled_by")
        if section.overdue is not None:
            rows = rows.annotate(
                **{OVERDUE: ExpressionWrapper(section.overdue(now), output_field=BooleanField())}
            )
        orders = list(rows[:DESK_ROWS])
        tables.append(
            DeskTable(section, _section_count(section, now), [_row(order, section, now) for order in orders])
        )
    return tables


def desk_counts(
    *, now: datetime | None = None, sections: tuple[DeskSection, ...] = DESK_SECTIONS
) -> list[DeskCount]:
    """How much work each section holds and how much of it is overdue, for the admin index: one query a section."""
    now = now or timezone.now()
    return [_section_count(section, now) for section in sections]


def desk_context(**kwargs: Any) -> dict[str, Any]:
    """What the desk page's template needs besides the admin's own context."""
    return {"tables": desk_tables(**kwargs), "review_target_hours": settings.REVIEW_TARGET_HOURS}
