"""What an order's state means to its customer, in words (a selector module: reads only).

Each status, and each way of arriving there, has its own plain sentence (or two: what happened,
then what comes next), the same on the order page and in the status API's ``statusMessage``. The
customer never sees an internal status name or an internal failure: a failure reason stored for
staff (an exception text, a setting's name) is turned into ``customer_failure_reason`` words.

How the order arrived is read from the record, not guessed: the move into its current status
(``OrderTransition``: an editor's rejection and its reason, a regeneration, staff trying again,
a re-placement after the article changed), the payment facts on the row, a Stripe event saying the
money is still clearing, and the job's stage while it waits for the writing service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.db.models import BooleanField, TextField
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from purchases.actions import REGENERATE
from purchases.models import Order, OrderStatus, OrderTransition, StripeEvent
from purchases.tokens import latest_move_sql

S = OrderStatus
Tone = Literal["ok", "warn", "bad"]

# The stage a run shows (status API, order page) while it waits out an outage of the writing service.
WAITING_STAGE = "waiting for the writing service"
# The outcome the webhook records for a checkout completed with the money still clearing.
AWAITING_ASYNC_PAYMENT = "awaiting_async_payment"
# The reasons the payment services store on an order that failed unpaid.
CHECKOUT_EXPIRED = "checkout expired"
PAYMENT_FAILED = "payment failed"

# The badge: a short customer label per status (the admin keeps ``get_status_display``).
STATUS_LABELS: dict[str, str] = {
    S.PENDING_PAYMENT: "Pending payment",
    S.AWAITING_APPROVAL: "Waiting for approval",
    S.PROCESSING: "Being written",
    S.QUALITY_CHECK: "Ready for your review",
    S.ADMIN_REVIEW: "With our editors",
    S.SCHEDULED: "Scheduled",
    S.PUBLISHED: "Published",
    S.FAILED: "Not completed",
    S.REFUNDED: "Refunded",
}

# A paid order's stored failure reason (for staff) -> what the customer is told, by how it starts.
# Anything else is "a technical problem on our side": never an exception text.
_FAILURE_WORDS: tuple[tuple[str, str], ...] = (
    ("Quality checks failed", "none of our drafts passed our quality checks"),
    ("The writing service was unavailable", "the writing service we use was unavailable for too long"),
    ("The language model refused", "the writing service declined to write this text"),
    (
        "The order used its model budget",
        "no draft passed our quality checks within this order's writing allowance",
    ),
    ("The article is no longer published", "the article is no longer published"),
)
_TECHNICAL_PROBLEM = "a technical problem on our side stopped it"


@dataclass(frozen=True)
class StatusView:
    """The order's state for its customer: a badge ``label``, a ``message``, a ``tone`` for the banner
    (ok, warn or bad) and, once published, ``link``: the live article's absolute URL."""

    label: str
    message: str
    tone: Tone
    link: str = ""
    # The message as the page shows it, beside a link to ``link`` (the API's message spells the URL out).
    page_message: str = ""

    def __post_init__(self) -> None:
        if not self.page_message:
            object.__setattr__(self, "page_message", self.message)


def customer_failure_reason(order: Order) -> str:
    """Why the order failed, in customer words (lower case, no full stop); never the stored text."""
    reason = order.failure_reason.strip()
    if not order.is_paid:
        if reason == CHECKOUT_EXPIRED:
            return "the time to pay ran out before a payment was made"
        if reason == PAYMENT_FAILED:
            return "the payment did not go through"
        return "the payment was not completed"
    for start, words in _FAILURE_WORDS:
        if reason.startswith(start):
            return words
    return _TECHNICAL_PROBLEM


def _money(amount: Any, order: Order) -> str:
    return f"{amount} {order.currency.upper()}"


def article_live_url(order: Order) -> str:
    """The absolute URL of the order's published article ("" without one)."""
    if order.article is None:
        return ""
    return settings.SITE_URL + reverse("article-page", kwargs={"slug": order.article.slug})


# The names under which ``order_get_for_customer`` reads, with the order itself, what a status view
# needs beyond the row (``status_view_annotations``), so the view costs no query of its own.
ARRIVAL_FIELDS = ("from_status", "source", "reason")
ARRIVAL = "status_arrival_"  # + each of ARRIVAL_FIELDS
PAYMENT_CLEARING = "payment_clearing"


def status_view_annotations() -> dict[str, RawSQL]:
    """``Order`` query annotations: the arrival's fields (``_arrival``) and whether a payment is
    clearing, read in the order's own query (raw SQL, cheap to compile: ``latest_move_sql``)."""
    events, orders = StripeEvent._meta.db_table, Order._meta.db_table
    clearing = (
        f'EXISTS (SELECT 1 FROM "{events}" e WHERE e."order_id" = "{orders}"."id" AND e."outcome" = %s)'
    )
    return {
        **{
            ARRIVAL + name: RawSQL(latest_move_sql(name, arrivals_only=True), (), output_field=TextField())
            for name in ARRIVAL_FIELDS
        },
        PAYMENT_CLEARING: RawSQL(clearing, (AWAITING_ASYNC_PAYMENT,), output_field=BooleanField()),
    }


def _arrival(order: Order) -> OrderTransition | None:
    """The move that brought the order into its current status; records that move no status (a link
    taken down, ``REFUNDED -> REFUNDED``) are not arrivals. From ``status_view_annotations`` when the
    order was read with them, else one query."""
    if hasattr(order, ARRIVAL + "from_status"):
        if getattr(order, ARRIVAL + "from_status") is None:
            return None
        fields = {name: getattr(order, ARRIVAL + name) for name in ARRIVAL_FIELDS}
        return OrderTransition(order=order, to_status=order.status, **fields)
    moves = order.transitions.filter(to_status=order.status).exclude(from_status=order.status)
    return moves.order_by("-created_at", "-id").first()


def _payment_clearing(order: Order) -> bool:
    """Whether the checkout completed with the money still clearing (annotated, else one query)."""
    if hasattr(order, PAYMENT_CLEARING):
        return bool(getattr(order, PAYMENT_CLEARING))
    return order.stripe_events.filter(outcome=AWAITING_ASYNC_PAYMENT).exists()


@dataclass(frozen=True)
class _Words:
    """How one order kind is spoken of: chosen once per order by its kind (``_WORDS``)."""

    what: str  # what the customer bought
    reviewed: str  # what the publisher approves before any writing
    another: str  # what a regeneration gives
    writing: Callable[[Order], str]  # the first draft is being written
    rewriting: Callable[[Order], str]  # a regeneration is being written
    live: Callable[[Order], str]  # published, before the link


_WORDS: dict[str, _Words] = {
    Order.Kind.BACKLINK: _Words(
        what="your link",
        reviewed="your link (its target and anchor text)",
        another="another placement",
        writing=lambda order: f"We are weaving your link into “{order.display_title}”.",
        rewriting=lambda order: f"We are writing a new placement of your link in “{order.display_title}”.",
        live=lambda order: f"Your link is live in “{order.display_title}”",
    ),
    Order.Kind.ARTICLE: _Words(
        what="your article",
        reviewed="your order (its topic and link)",
        another="a fresh draft",
        writing=lambda order: f"We are writing your article about “{order.topic}”.",
        rewriting=lambda order: f"We are writing a fresh draft of your article “{order.display_title}”.",
        live=lambda order: f"Your article “{order.display_title}” is live",
    ),
}


def _words(order: Order) -> _Words:
    return _WORDS[order.kind]


def _awaiting_payment(order: Order, *, returned_from_checkout: bool, checkout_cancelled: bool) -> StatusView:
    label = STATUS_LABELS[S.PENDING_PAYMENT]
    if _payment_clearing(order):
        return StatusView(
            "Payment clearing",
            "Your payment has been made and is still clearing with your bank, which can take a few days. "
            "We start on your order as soon as it is confirmed and email you when your draft is ready.",
            "warn",
        )
    if returned_from_checkout:
        return StatusView(
            "Payment received",
            "Your payment has reached our payment provider and we are waiting for its confirmation, "
            "usually a few seconds. Your order starts as soon as it arrives.",
            "warn",
        )
    expires = order.checkout_expires_at
    if expires is not None and expires <= timezone.now():
        return StatusView(
            "Checkout closed",
            "The time to pay for this order has run out, so no payment was taken. "
            "You are welcome to place the order again.",
            "bad",
        )
    until = f" until {expires:%H:%M} UTC on {expires.day} {expires:%b %Y}" if expires is not None else ""
    amount = _money(order.amount, order)
    if checkout_cancelled:
        return StatusView(
            "Payment cancelled",
            f"Payment was cancelled and nothing was charged. Your order is kept{until}: "
            f"pay {amount} to go ahead.",
            "warn",
        )
    return StatusView(
        label, f"We are waiting for your payment of {amount}. Your order is kept{until}.", "warn"
    )


def _being_written(order: Order, *, queue: dict[str, Any] | None) -> StatusView:
    label = STATUS_LABELS[S.PROCESSING]
    then = "You can close this page: we will email you when it is ready."
    if queue is not None and queue.get("stage") == WAITING_STAGE:
        return StatusView(
            label,
            "The writing service we use is unavailable at the moment, so your order is waiting in the queue. "
            "Nothing is lost: we keep trying and email you as soon as your draft is ready.",
            "warn",
        )
    arrival = _arrival(order)
    came_from = arrival.from_status if arrival is not None else ""
    if came_from == S.QUALITY_CHECK:
        now = _words(order).rewriting(order)
    elif came_from in (
        S.ADMIN_REVIEW,
        S.SCHEDULED,
    ):  # publishing found the article changed under the link: re-placed
        now = (
            f"“{order.display_title}” was updated while your draft was with our editors, so we are placing "
            "your link in its current text again; you will review it before it goes to the editors again."
        )
    elif came_from == S.FAILED and arrival is not None and arrival.source == "staff":
        now = "Our team is trying your order again."
    elif came_from == S.AWAITING_APPROVAL:
        now = f"The publisher accepted {_words(order).what}. {_words(order).writing(order)}"
    else:
        now = _words(order).writing(order)
    return StatusView(label, f"{now} {then}", "warn")


def _draft_ready(order: Order) -> StatusView:
    another = _words(order).another
    arrival = _arrival(order)
    if arrival is not None and arrival.from_status == S.ADMIN_REVIEW and arrival.source == "staff":
        reason = " ".join(arrival.reason.split())
        next_step = (
            f"Ask for {another}, then submit it again."
            if REGENERATE.is_offered(order)
            else "Submit your draft again when you are ready."
        )
        stop = "" if reason.endswith((".", "!", "?")) else "."  # no “….”. after a reason's own full stop
        return StatusView(
            "Changes requested", f"Our editor asked for changes: “{reason}”{stop} {next_step}", "warn"
        )
    label = STATUS_LABELS[S.QUALITY_CHECK]
    if order.failure_reason:
        return StatusView(
            label,
            "We could not write a new draft: this order has used its writing allowance. "
            "Your current draft is kept: read it, then submit it for editorial review.",
            "warn",
        )
    choice = f" or ask for {another}" if REGENERATE.is_offered(order) else ""
    return StatusView(
        label, f"Your draft is ready. Read it, then submit it for editorial review{choice}.", "ok"
    )


def _published(order: Order) -> StatusView:
    if order.article is not None and order.article.is_unpublished:
        return StatusView(
            "Offline for now",
            f"Our editors have taken “{order.display_title}” off the site for now, so {_words(order).what} "
            "is not online. Your order is kept as it is; we will email you when the article is back.",
            "warn",
        )
    link = article_live_url(order)
    live = _words(order).live(order)
    message = f"{live}: {link}" if link else f"{live}."
    return StatusView(STATUS_LABELS[S.PUBLISHED], message, "ok", link, page_message=f"{live}.")


def _failed(order: Order) -> StatusView:
    why = customer_failure_reason(order)
    if not order.is_paid:
        return StatusView(
            "Cancelled",
            f"This order was cancelled: {why}. No money was taken; you are welcome to order again.",
            "bad",
        )
    if settings.AUTO_REFUND_ON_FAILURE:
        then = "Your payment is being refunded in full; we will email you when it is done."
    else:
        then = "Our team has been told and will contact you about a new attempt or a refund."
    return StatusView(STATUS_LABELS[S.FAILED], f"We could not complete this order: {why}. {then}", "bad")


def _refunded(order: Order) -> StatusView:
    arrival = _arrival(order)
    amount = _money(order.refunded_amount or order.amount, order)
    note = " ".join(arrival.reason.split()) if arrival is not None and arrival.source == "staff" else ""
    declined_why = why = ""
    if arrival is not None and arrival.from_status == S.AWAITING_APPROVAL and note:
        # Staff declined the target (or refunded it) before anything was written.
        stop = "" if note.endswith((".", "!", "?")) else "."
        declined_why = f"The publisher declined {_words(order).what}: “{note}”{stop} "
    elif arrival is not None and arrival.from_status == S.FAILED and order.failure_reason:
        why = f" because we could not complete it: {customer_failure_reason(order)}"
    elif note:
        why = f". Our team's note: “{note}”"
    if order.refund_status in ("failed", "canceled"):
        then = "The refund did not go through at the bank: our team will pay you back another way."
    else:
        then = "Depending on your bank it can take 5 to 10 days to appear."
    return StatusView(
        STATUS_LABELS[S.REFUNDED],
        f"{declined_why}We refunded {amount}, your payment in full{why}. {then}",
        "bad",
    )


def _money_notes(order: Order) -> str:
    """Sentences about the money that any status may carry: a partial refund, a dispute."""
    notes = []
    if not order.is_refunded and order.refunded_amount > 0:
        notes.append(f"We refunded {_money(order.refunded_amount, order)} of your payment.")
    if order.dispute_id and not order.dispute_closed:
        notes.append(
            "Your bank has opened a dispute about this payment; we answer it through our payment provider."
        )
    elif order.dispute_status == "lost":
        notes.append("Your bank returned this payment to you after a dispute.")
    return " ".join(notes)


@dataclass(frozen=True)
class _Seen:
    """What the caller knows beyond the order row: the job's queue state and the page's return flags."""

    queue: dict[str, Any] | None
    returned_from_checkout: bool
    checkout_cancelled: bool


def _review_view(order: Order, seen: _Seen) -> StatusView:
    return StatusView(
        STATUS_LABELS[S.ADMIN_REVIEW],
        f"An editor is reviewing {_words(order).what}. We will email you when it is live.",
        "ok",
    )


def _approval_view(order: Order, seen: _Seen) -> StatusView:
    return StatusView(
        STATUS_LABELS[S.AWAITING_APPROVAL],
        f"Your payment is received. The publisher reviews {_words(order).reviewed} before anything is "
        "written. We will email you when it is accepted and writing starts, or refund you in full if it "
        "is declined.",
        "warn",
    )


def publish_time_text(at: datetime) -> str:
    """A publishing time as staff and customers read it, in the site's time zone, naming it."""
    local = timezone.localtime(at)
    return f"{local.day} {local:%b %Y} at {local:%H:%M} {local.tzname()}"


def _scheduled_view(order: Order, seen: _Seen) -> StatusView:
    when = publish_time_text(order.publish_at) if order.publish_at else "publication"
    return StatusView(
        STATUS_LABELS[S.SCHEDULED],
        f"Our editors approved {_words(order).what}: it is scheduled for {when}. "
        "We will email you when it is live.",
        "ok",
    )


# One builder per status: looked up by the order's status, never compared with it.
_VIEWS: dict[str, Callable[[Order, _Seen], StatusView]] = {
    S.PENDING_PAYMENT: lambda order, seen: _awaiting_payment(
        order, returned_from_checkout=seen.returned_from_checkout, checkout_cancelled=seen.checkout_cancelled
    ),
    S.AWAITING_APPROVAL: _approval_view,
    S.PROCESSING: lambda order, seen: _being_written(order, queue=seen.queue),
    S.QUALITY_CHECK: lambda order, seen: _draft_ready(order),
    S.ADMIN_REVIEW: _review_view,
    S.SCHEDULED: _scheduled_view,
    S.PUBLISHED: lambda order, seen: _published(order),
    S.FAILED: lambda order, seen: _failed(order),
    S.REFUNDED: lambda order, seen: _refunded(order),
}


def order_status_view(
    order: Order,
    *,
    queue: dict[str, Any] | None = None,
    returned_from_checkout: bool = False,
    checkout_cancelled: bool = False,
) -> StatusView:
    """The order's state for its customer. ``queue`` is ``order_queue_state`` (while it is being
    written); the two flags are the order page's return from Stripe (``?paid=1``, ``?cancelled=1``).

    At most one query: the move into the current status, or the Stripe event of a payment still
    clearing; none for an order read with ``status_view_annotations`` (``order_get_for_customer``).
    """
    seen = _Seen(queue, returned_from_checkout, checkout_cancelled)
    view = _VIEWS[order.status](order, seen)
    notes = _money_notes(order)
    if notes:
        return StatusView(
            view.label, f"{view.message} {notes}", view.tone, view.link, f"{view.page_message} {notes}"
        )
    return view
