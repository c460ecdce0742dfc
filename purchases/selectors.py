"""Reads on orders."""

from __future__ import annotations

import difflib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from articles.content import extract_links, normalize_href, paragraph_extends, render_html, split_paragraphs
from articles.models import ArticleVersion
from articles.selectors import version_preview
from policy.selectors import PolicyDecision
from purchases.actions import SUBMIT_FOR_REVIEW, customer_actions
from purchases.errors import NotFound, OrderNotFound
from purchases.models import (
    DISPUTE_CLOSED_STATUSES,
    EmailRecord,
    Order,
    OrderMessage,
    OrderStatus,
    OrderTransition,
    unpaid_failure_q,
)
from purchases.order_read import order_read
from purchases.services.runs import order_queue
from purchases.status_messages import STATUS_LABELS
from purchases.test_mode import TEST_PAYMENT_INTENT_PREFIX
from purchases.tokens import (
    ENTERED_STATUS_AT,
    check_order_token,
    customer_email_normalize,
    entered_status_at_subquery,
    make_order_token,
    order_has_ended,
    order_token_expired,
    token_expired_since,
)
from queueing.progress import job_queue_read
from queueing.selectors import estimate_wait_seconds, job_attempts_for

logger = logging.getLogger(__name__)


def order_get_for_customer(*, order_id: object, token: str | None) -> Order:
    """The order if ``token`` is its access token, not yet expired. Unknown order, wrong or expired
    token look the same: 404."""
    try:
        pk = uuid.UUID(str(order_id))
    except ValueError as exc:
        raise OrderNotFound("Order not found.") from exc
    order = order_read(pk)  # with its article, current version and the status view's annotations
    if (
        order is None
        or not check_order_token(order_id=order.id, token_salt=order.token_salt, token=token)
        or order_token_expired(order)
    ):
        raise OrderNotFound("Order not found.")
    return order


def order_preview(order: Order, *, limit: int = 500) -> str:
    """The current draft as the customer is shown it (``version_preview``); "" before the first."""
    version = order.current_version
    return version_preview(version, limit=limit) if version else ""


def order_customer_actions(order: Order) -> list[str]:
    """The names of what the customer may do next: the API's ``actions`` and the order page's buttons."""
    return [action.name for action in customer_actions(order)]


# What a customer reads for each status (the listing of their orders): never the internal name.
KIND_LABELS: dict[str, str] = {Order.Kind.BACKLINK: "Backlink", Order.Kind.ARTICLE: "Sponsored article"}


def order_status_label(order: Order, *, now: datetime | None = None) -> str:
    """A short customer-facing label of where the order stands (``STATUS_LABELS``).

    An unpaid checkout past its expiry reads "Payment not received" (abandoned, or a bank payment
    still clearing); a failure before any payment "Not paid"; a partial refund is added.
    """
    now = now or timezone.now()
    if order.awaits_payment and order.checkout_expires_at is not None and order.checkout_expires_at <= now:
        return "Payment not received"
    if order.has_failed and not order.is_paid:
        return "Not paid"
    label = STATUS_LABELS[order.status]
    if order.refunded_amount and not order.is_refunded:
        label += f" (refunded {order.refunded_amount} {order.currency.upper()})"
    return label


@dataclass(frozen=True)
class CustomerOrderRow:
    """One line of the listing of an address's orders."""

    order_id: uuid.UUID
    kind: str
    title: str
    status: str
    ordered_at: datetime
    amount: Decimal
    currency: str
    # The order page with a fresh token; empty once the order's token has expired (ORDER_TOKEN_TTL_DAYS).
    url: str


# A listing shows at most this many orders, newest first.
CUSTOMER_ORDERS_LIMIT = 200


def customer_orders(*, email: str) -> QuerySet[Order]:
    """Every order placed with ``email`` (ignoring case), newest first, but failures before any
    payment (abandoned checkouts, failed payments): nothing was bought."""
    return (
        Order.objects.filter(customer_email__iexact=customer_email_normalize(email))
        .exclude(unpaid_failure_q())
        .order_by("-created_at", "-id")
    )


def customer_order_rows(*, email: str, now: datetime | None = None) -> list[CustomerOrderRow]:
    """The listing behind the emailed link: ``customer_orders`` with labels and links, in one query."""
    now = now or timezone.now()
    moved_at = (
        OrderTransition.objects.filter(order_id=OuterRef("pk"), to_status=OuterRef("status"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    orders = (
        customer_orders(email=email)
        .select_related("article")
        .annotate(moved_at=Subquery(moved_at))[:CUSTOMER_ORDERS_LIMIT]
    )
    rows = []
    for order in orders:
        ended_at = (getattr(order, "moved_at", None) or order.updated_at) if order_has_ended(order) else None
        url = ""
        if not token_expired_since(ended_at, now=now):
            token = make_order_token(order_id=order.id, token_salt=order.token_salt)
            url = f"{reverse('purchases:order-page', kwargs={'order_id': order.id})}?token={token}"
        rows.append(
            CustomerOrderRow(
                order_id=order.id,
                kind=KIND_LABELS[order.kind],
                title=order.display_title,
                status=order_status_label(order, now=now),
                ordered_at=order.created_at,
                amount=order.amount,
                currency=order.currency.upper(),
                url=url,
            )
        )
    return rows


def _queue_state_from_order(order: Order) -> str:
    if order.has_failed:
        return "failed"
    if order.in_progress:
        return "queued"
    return "finished"


def order_queue_state(order: Order) -> dict[str, Any]:
    """``{jobId, state, position, progress, stage, attempts, estimatedSeconds}`` for the order's current job.

    From RQ while it has the job; from the order itself when the job expired from Redis or
    Redis cannot be reached (PostgreSQL is the record). ``estimatedSeconds`` (as the regenerate
    answer gives it) only while a draft is being written; None otherwise.
    """
    view: dict[str, Any] = {
        "jobId": order.queue_job_id or None,
        "state": _queue_state_from_order(order) if order.queue_job_id else None,
        "position": None,
        "progress": 100 if order.queue_job_id and not order.in_progress else 0,
        "stage": None,
        "attempts": 0,
        "estimatedSeconds": None,
    }
    if not order.queue_job_id:
        return view
    queue = order_queue(order)
    read = job_queue_read(job_id=order.queue_job_id, queue=queue, fallback=view)
    view = read.view
    if order.in_progress:
        view["estimatedSeconds"] = estimate_wait_seconds(
            queue=queue, job_id=order.queue_job_id, position=view["position"], ahead=read.ahead
        )
    return view


# What the customer reads for a job's stage (``queue.stage``, set by the jobs' progress reports)
# and for a run that waits to be tried again. The order page's script gets the same table
# (``data-stage-words``) and looks a stage up the way ``queue_stage_words`` does.
QUEUE_STAGE_WORDS: dict[str, str] = {
    "queued": "Waiting for a writer",
    "retrying": "Something went wrong; trying again shortly",
    "writing": "Writing the draft",
    "quality_check": "Checking the draft",
    "saving": "Saving the draft",
    "done": "Finishing",
    "waiting for the writing service": "Waiting for the writing service to come back",
}


def queue_stage_words(queue: dict[str, Any]) -> str:
    """``queue`` (``order_queue_state``) in the customer's words: a retry waiting, else the stage
    from the table, else the raw stage made readable, else "Waiting for a writer"."""
    if queue.get("state") == "retrying":
        return QUEUE_STAGE_WORDS["retrying"]
    stage = queue.get("stage")
    if not stage:
        return QUEUE_STAGE_WORDS["queued"]
    return QUEUE_STAGE_WORDS.get(stage) or str(stage).replace("_", " ").capitalize()


def order_versions(order: Order) -> QuerySet[ArticleVersion]:
    """The order's drafts, newest first, each with its ``order_draft`` (``order_draft.number`` is "Draft n")."""
    return order.drafts.select_related("order_draft").order_by("-order_draft__number")


@dataclass(frozen=True)
class DraftItem:
    """One of an order's drafts as the customer sees it: "Draft ``number``"."""

    number: int
    version: ArticleVersion
    current: bool
    excerpt: str
    # Why the customer cannot submit this draft now, in words for them; "" when they can.
    refusal: str

    @property
    def submittable(self) -> bool:
        return not self.refusal


# What a draft's page says when the order is not awaiting the customer's review.
NOT_AWAITING_REVIEW = (
    "Drafts can be submitted only while your order waits for your review: "
    "your order page shows where it stands."
)


def draft_refusal_text(order: Order, *, version: ArticleVersion, number: int) -> str:
    """Why draft ``number`` cannot be submitted now, for the customer; "" when it can."""
    if not SUBMIT_FOR_REVIEW.is_offered(order):
        return NOT_AWAITING_REVIEW
    refusal = SUBMIT_FOR_REVIEW.draft_refusal(order, draft=version, number=number)
    return refusal.message if refusal is not None else ""


def order_draft_items(order: Order) -> list[DraftItem]:
    """The order's drafts, newest first (one query; ``order.article`` loaded, as the customer's order is)."""
    return [
        DraftItem(
            number=version.order_draft.number,
            version=version,
            current=version.pk == order.current_version_id,
            excerpt=version_preview(version),
            refusal=draft_refusal_text(order, version=version, number=version.order_draft.number),
        )
        for version in order_versions(order)
    ]


@dataclass(frozen=True)
class DraftPage:
    """One draft in full, its changes against the published version it was made on marked."""

    draft: DraftItem
    count: int
    base: ArticleVersion | None
    body_html: str
    changed: int
    previous: int | None
    next: int | None


def order_draft_page(order: Order, *, number: int) -> DraftPage:
    """Draft ``number`` of ``order``; ``NotFound`` when the order has no such draft."""
    items = order_draft_items(order)
    draft = next((item for item in items if item.number == number), None)
    if draft is None:
        raise NotFound("The order has no such draft.")
    numbers = {item.number for item in items}
    base = draft.version.base_version
    if base is None:
        body_html, changed = render_html(draft.version.body_markdown), 0
    else:
        body_html, changed = draft_changes_html(
            base_body=base.body_markdown, body=draft.version.body_markdown
        )
    return DraftPage(
        draft=draft,
        count=len(items),
        base=base,
        body_html=body_html,
        changed=changed,
        previous=number - 1 if number - 1 in numbers else None,
        next=number + 1 if number + 1 in numbers else None,
    )


CHANGE_LABELS = {
    "insert": "Added in this draft",
    "replace": "Changed in this draft",
    "delete": "Removed in this draft",
    "extend": "Added to this paragraph in this draft",
}


def _extended_html(old: str, new: str) -> str | None:
    """``new`` as HTML with what it adds after the whole of ``old`` in ``<ins class="added">``, when
    ``new`` is ``old`` with text appended (a backlink's ``append_sentence``); else None.

    Marked only when ``old``'s HTML is exactly the start of ``new``'s, so the mark never splits a tag.
    """
    if not paragraph_extends(old, new):
        return None
    old_html, new_html = render_html(old).rstrip(), render_html(new).rstrip()
    if not (old_html.endswith("</p>") and new_html.endswith("</p>") and new_html.startswith(old_html[:-4])):
        return None
    cut = len(old_html) - 4
    return f'{new_html[:cut]}<ins class="added">{new_html[cut:-4]}</ins></p>'


def draft_changes_html(*, base_body: str, body: str) -> tuple[str, int]:
    """``body`` as sanitized HTML with each paragraph that differs from ``base_body`` marked, and how many.

    A changed block is ``<div class="change">`` opening with its label in words (``CHANGE_LABELS``),
    so the mark does not rest on colour: new text in ``<ins>``, the published text it replaces or
    drops in ``<del>``. A paragraph kept whole with text added at its end (an appended sentence)
    is shown once, the added text in ``<ins class="added">``, nothing struck through. Every
    paragraph goes through ``render_html``; the marks are our own tags.
    """
    base, draft = split_paragraphs(base_body), split_paragraphs(body)
    parts: list[str] = []
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=base, b=draft, autojunk=False).get_opcodes():
        new = "".join(render_html(p) for p in draft[j1:j2])
        if tag == "equal":
            parts.append(new)
            continue
        changed += max(i2 - i1, j2 - j1)
        extended = (
            _extended_html(base[i1], draft[j1]) if tag == "replace" and i2 - i1 == j2 - j1 == 1 else None
        )
        if extended is not None:
            parts.append(
                f'<div class="change"><p class="change-label">{CHANGE_LABELS["extend"]}</p>{extended}</div>'
            )
            continue
        block = f'<p class="change-label">{CHANGE_LABELS[tag]}</p>'
        if new:
            block += f"<ins>{new}</ins>"
        if i2 > i1:
            old = "".join(render_html(p) for p in base[i1:i2])
            if new:
                block += '<p class="change-label">The published text it replaces:</p>'
            block += f"<del>{old}</del>"
        parts.append(f'<div class="change">{block}</div>')
    return "".join(parts), changed


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # status | stripe | job | email
    summary: str
    detail: str = ""


def order_timeline(order: Order) -> list[TimelineEntry]:
    """Everything that happened to an order, oldest first: status moves, Stripe events, job attempts,
    messages, emails."""
    entries = [
        TimelineEntry(
            t.created_at,
            "status",
            f"{t.get_from_status_display()} → {t.get_to_status_display()} by {t.actor or t.source}",
            t.reason,
        )
        for t in order.transitions.select_related("actor")
    ]
    entries += [
        TimelineEntry(e.received_at, "stripe", f"{e.type} ({e.event_id})", e.outcome)
        for e in order.stripe_events.all()
    ]
    entries += [
        TimelineEntry(
            a.started_at,
            "job",
            f"{a.request.job_id} [{a.request.purpose}] attempt by {a.worker or 'worker'}: {a.outcome or 'running'}",
            a.error,
        )
        for a in job_attempts_for(subject_id=order.id)
    ]
    entries += [
        TimelineEntry(
            m.created_at,
            "message",
            f"Message from {m.author or 'staff'}" + (" (requested changes)" if m.requested_changes else "")
            if m.side == OrderMessage.Side.STAFF
            else "Message from the customer",
            m.body,
        )
        for m in order.messages.select_related("author")
    ]
    entries += [
        TimelineEntry(
            m.created_at,
            "email",
            f"{m.get_kind_display()} to {m.to}: {_email_state(m)}",
            m.error or m.note,
        )
        for m in order.emails.all()
    ]
    return sorted(entries, key=lambda e: e.at)


def order_article_notices(order: Order) -> list[OrderTransition]:
    """The order's timeline entries about its article being unpublished or published back, oldest first."""
    return list(order.transitions.filter(source=OrderTransition.ARTICLE_SOURCE).order_by("created_at", "id"))


def _email_state(record: EmailRecord) -> str:
    if record.sent_at:
        return "sent " + record.sent_at.isoformat(timespec="seconds")
    if record.coalesced_into_id:
        return "folded into a later email (one revision email a minute)"
    return "NOT SENT"


def order_id_from_metadata(obj: dict[str, Any]) -> uuid.UUID | None:
    """Our order id on a Stripe object: ``client_reference_id`` (sessions) or ``metadata.order_id``.

    None when neither holds a UUID. Raises TypeError when ``metadata`` is not an object: the
    webhook answers such an event as malformed.
    """
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TypeError("metadata is not an object")
    raw = obj.get("client_reference_id") or metadata.get("order_id")
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def _order_first(**lookup: Any) -> Order | None:
    return Order.objects.filter(**lookup).first()


def order_for_checkout_session(
    *, session: dict[str, Any], read: Callable[..., Order | None] = _order_first
) -> Order | None:
    """The order a Checkout Session pays for: by our id on the session, else by the session id.

    An order that already has another session is not this session's order. ``read``: how an
    order is read, called with ``pk=`` or ``stripe_checkout_session_id=`` (a payment reads it
    locked, ``purchases.services.payments``).
    """
    order_id = order_id_from_metadata(session)
    if order_id is None:
        session_id = session.get("id")
        return read(stripe_checkout_session_id=str(session_id)) if session_id else None
    order = read(pk=order_id)
    if order and order.stripe_checkout_session_id and order.stripe_checkout_session_id != session.get("id"):
        logger.warning(
            "session does not match order", extra={"order_id": str(order_id), "session": session.get("id")}
        )
        return None
    return order


def order_for_charge(*, charge: dict[str, Any]) -> Order | None:
    """The order a Stripe charge paid for: by its payment intent, else by ``metadata.order_id``.

    Checkout copies our order id into the PaymentIntent's metadata and from there onto its
    charges, so a refund that overtakes the completion event can still find its order.
    """
    payment_intent = charge.get("payment_intent")
    if payment_intent:
        order = Order.objects.filter(stripe_payment_intent_id=str(payment_intent)).first()
        if order is not None:
            return order
    order_id = order_id_from_metadata({"metadata": charge.get("metadata")})
    return Order.objects.filter(pk=order_id).first() if order_id else None


class LLMUsage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    estimated_cost_usd: Decimal


def order_llm_usage(order: Order) -> LLMUsage:
    """Tokens and estimated USD cost over every version the order's jobs stored (one query).

    Runs that failed their quality checks store no version, so their tokens are only in the logs.
    """
    totals = order.drafts.aggregate(
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        estimated_cost_usd=Sum("estimated_cost_usd"),
    )
    return {
        "prompt_tokens": totals["prompt_tokens"] or 0,
        "completion_tokens": totals["completion_tokens"] or 0,
        "estimated_cost_usd": totals["estimated_cost_usd"] or Decimal("0"),
    }


def version_html_marked(version: ArticleVersion, *, target_url: str) -> str:
    """The version as HTML with the paragraph holding the customer's link wrapped in ``<div class="yours">``."""
    target = normalize_href(target_url)
    parts = []
    for paragraph in split_paragraphs(version.body_markdown):
        html = render_html(paragraph)
        if any(link.href == target for link in extract_links(paragraph)):
            html = f'<div class="yours" title="Your link">{html}</div>'
        parts.append(html)
    return "".join(parts)


def price_breakdown(
    *, base: Decimal, surcharge: Decimal, currency: str, niche: str, rule: str
) -> dict[str, Any]:
    """A price as the API, the buy forms and the receipt show it: base + surcharge = total."""
    note = ""
    if surcharge:
        note = f"Includes a surcharge of {surcharge} {currency.upper()} for links about {niche}."
    return {
        "base": base,
        "surcharge": surcharge,
        "total": base + surcharge,
        "currency": currency.upper(),
        "niche": niche or None,
        "rule": rule,
        "note": note,
    }


def decision_price(decision: PolicyDecision) -> dict[str, Any]:
    """The price the link policy quotes (``policy_decide``)."""
    return price_breakdown(
        base=decision.base,
        surcharge=decision.surcharge,
        currency=decision.currency,
        niche=decision.niche_name,
        rule=decision.rule,
    )


def order_price(order: Order) -> dict[str, Any]:
    """The order's price as checkout decided it; orders from before the link policy are all base."""
    surcharge = order.surcharge_amount or Decimal(0)
    base = order.base_amount if order.base_amount is not None else order.amount - surcharge
    return price_breakdown(
        base=base,
        surcharge=surcharge,
        currency=order.currency,
        niche=order.policy_niche_name,
        rule=order.policy_rule,
    )


def order_receipt(order: Order) -> dict[str, Any] | None:
    """What the customer paid, when, and its reference (the payment intent), for the order page and
    the status API's ``receipt``; None before payment.

    ``receiptUrl`` is Stripe's receipt when one was fetched and is https (else None); ``testMode``
    says the payment was simulated by the local TEST MODE (no money moved, no receipt).
    """
    if order.paid_at is None:
        return None
    reference = order.stripe_payment_intent_id
    url = order.receipt_url if order.receipt_url.startswith("https://") else None
    return {
        "amount": order.amount,
        "currency": order.currency.upper(),
        "paidAt": order.paid_at,
        "reference": reference,
        "receiptUrl": url,
        "testMode": reference.startswith(TEST_PAYMENT_INTENT_PREFIX),
        "price": order_price(order),
    }


def orders_by_status() -> dict[str, int]:
    """How many orders are in each status (every status listed, 0 included). One query."""
    counts = dict(Order.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status: int(counts.get(status, 0)) for status in OrderStatus.values}


# The statuses an order must not stay in for long, and the setting saying how long is too long: the
# alerts (``purchases.monitoring``) and the overdue gauges (``purchases.metrics``) read both from here.
OVERDUE_DEADLINE_SETTINGS: dict[str, str] = {
    OrderStatus.PROCESSING: "ORDER_PROCESSING_DEADLINE_SECONDS",
    OrderStatus.AWAITING_APPROVAL: "ORDER_APPROVAL_DEADLINE_SECONDS",
}


def overdue_deadline_seconds(status: str) -> int:
    """How long an order may stay in ``status`` (one of ``OVERDUE_DEADLINE_SETTINGS``) before it is overdue."""
    return int(getattr(settings, OVERDUE_DEADLINE_SETTINGS[status]))


def orders_overdue_qs(*, status: str, now: datetime, deadline_seconds: int | None = None) -> QuerySet[Order]:
    """Orders still in ``status`` ``deadline_seconds`` (default: its setting) after they entered it,
    annotated ``entered``.

    When it entered: its latest move into ``status`` (a regeneration or a retry enters PROCESSING
    again), else its payment time, else its ``updated_at``.
    """
    if deadline_seconds is None:
        deadline_seconds = overdue_deadline_seconds(status)
    entered = (
        OrderTransition.objects.filter(order=OuterRef("pk"), to_status=status)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return (
        Order.objects.filter(status=status)
        .annotate(entered=Coalesce(Subquery(entered), F("paid_at"), F("updated_at")))
        .filter(entered__lte=now - timedelta(seconds=deadline_seconds))
    )


def orders_overdue(
    *, status: str, now: datetime, deadline_seconds: int | None = None
) -> list[tuple[uuid.UUID, datetime]]:
    """(order id, when it entered ``status``) of each overdue order, oldest first."""
    qs = orders_overdue_qs(status=status, now=now, deadline_seconds=deadline_seconds)
    return list(qs.order_by("entered").values_list("id", "entered"))  # type: ignore[misc]


# --- The conversation ---------------------------------------------------------------------------


def order_message_thread(order: Order) -> list[OrderMessage]:
    """The order's messages, oldest first, with their staff authors."""
    return list(order.messages.select_related("author"))


def orders_awaiting_staff_reply() -> QuerySet[Order]:
    """Orders whose latest message is the customer's: no one on staff has answered it yet.

    Oldest waiting first; each order carries ``last_message_at`` (when the customer wrote).
    A staff message (or "request changes", which writes one) answers it.
    """
    latest = OrderMessage.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Order.objects.select_related("article")
        .annotate(
            last_message_side=Subquery(latest.values("side")[:1]),
            last_message_at=Subquery(latest.values("created_at")[:1]),
        )
        .filter(last_message_side=OrderMessage.Side.CUSTOMER)
        .order_by("last_message_at")
    )


def customer_messages_for_prompt(order: Order) -> tuple[str, ...]:
    """The customer's latest ``ORDER_MESSAGES_IN_PROMPT`` messages, oldest first, each cut to
    ``ORDER_MESSAGE_PROMPT_CHARS``: what the writer is given, as quoted data, on the next draft."""
    count = settings.ORDER_MESSAGES_IN_PROMPT
    if count <= 0:
        return ()
    bodies = (
        OrderMessage.objects.filter(order_id=order.pk, side=OrderMessage.Side.CUSTOMER)
        .order_by("-created_at", "-id")
        .values_list("body", flat=True)[:count]
    )
    return tuple(
        Truncator(body).chars(settings.ORDER_MESSAGE_PROMPT_CHARS) for body in reversed(list(bodies))
    )


def order_message_author(message: OrderMessage, *, for_staff: bool) -> str:
    """Who wrote ``message``, as each side reads it: staff see the editor's name, customers "Our editors"."""
    if message.side == OrderMessage.Side.CUSTOMER:
        return "The customer" if for_staff else "You"
    if for_staff:
        return str(message.author or "staff")
    return "Our editors"


# --- Scheduled publishing and the editors' desk ---------------------------------------------------


def orders_scheduled_due(*, now: datetime) -> list[tuple[uuid.UUID, datetime]]:
    """(order id, publish_at) of every scheduled order whose time has come, earliest first. One query."""
    due = Order.objects.filter(status=OrderStatus.SCHEDULED, publish_at__lte=now).order_by("publish_at")
    return list(due.values_list("id", "publish_at"))  # type: ignore[arg-type]


def orders_scheduled_overdue(*, now: datetime, grace_seconds: int) -> list[tuple[uuid.UUID, datetime]]:
    """Scheduled orders still unpublished ``grace_seconds`` after their time (the job is not running)."""
    return orders_scheduled_due(now=now - timedelta(seconds=grace_seconds))


def _longest_in_status_first(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``orders`` annotated ``entered_status_at`` (since when in their status), the longest there first."""
    return orders.annotate(
        **{ENTERED_STATUS_AT: Coalesce(entered_status_at_subquery(), F("updated_at"))}
    ).order_by(ENTERED_STATUS_AT, "created_at")


def orders_waiting_for_review() -> QuerySet[Order]:
    """Orders waiting for an editor, oldest wait first, annotated ``entered_status_at`` (since when)."""
    return _longest_in_status_first(Order.objects.filter(status=OrderStatus.ADMIN_REVIEW))


def orders_scheduled() -> QuerySet[Order]:
    """Scheduled orders, the next to publish first."""
    return Order.objects.filter(status=OrderStatus.SCHEDULED).order_by("publish_at", "created_at")


def orders_failed_unrefunded() -> QuerySet[Order]:
    """Paid orders that failed and were not refunded in full (FAILED: a full refund moves them on), oldest first."""
    return _longest_in_status_first(Order.objects.filter(status=OrderStatus.FAILED, paid_at__isnull=False))


def orders_awaiting_approval() -> QuerySet[Order]:
    """Paid orders waiting for staff to accept or decline their target, the longest paid first."""
    return Order.objects.filter(status=OrderStatus.AWAITING_APPROVAL).order_by("paid_at", "created_at")


def orders_disputed() -> QuerySet[Order]:
    """Orders with a chargeback still open at the bank, oldest dispute first."""
    return (
        Order.objects.exclude(dispute_id="")
        .exclude(dispute_status__in=DISPUTE_CLOSED_STATUSES)
        .order_by("disputed_at", "created_at")
    )
