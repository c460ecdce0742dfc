"""Orders, their guarded status machine, and the records that make webhooks and email idempotent."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.expressions import RawSQL

from blogorder.errors import ActionNotAllowed


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "PENDING_PAYMENT", "Pending payment"
    AWAITING_APPROVAL = "AWAITING_APPROVAL", "Waiting for approval of the target"
    PROCESSING = "PROCESSING", "Processing"
    QUALITY_CHECK = "QUALITY_CHECK", "Ready for customer review"
    ADMIN_REVIEW = "ADMIN_REVIEW", "Waiting for editor"
    SCHEDULED = "SCHEDULED", "Scheduled to publish"
    PUBLISHED = "PUBLISHED", "Published"
    FAILED = "FAILED", "Failed"
    REFUNDED = "REFUNDED", "Refunded"


S = OrderStatus
# Every allowed move, written once. Anything else raises IllegalTransition.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.AWAITING_APPROVAL, S.PROCESSING, S.FAILED, S.REFUNDED}),
    # Paid, waiting for staff to accept the target (then written) or decline it (refunded in full).
    S.AWAITING_APPROVAL: frozenset({S.PROCESSING, S.REFUNDED}),
    S.PROCESSING: frozenset({S.QUALITY_CHECK, S.FAILED, S.REFUNDED}),
    S.QUALITY_CHECK: frozenset({S.PROCESSING, S.ADMIN_REVIEW, S.FAILED, S.REFUNDED}),
    S.ADMIN_REVIEW: frozenset({S.PUBLISHED, S.SCHEDULED, S.QUALITY_CHECK, S.PROCESSING, S.REFUNDED}),
    # Approved, to be published at ``publish_at`` by the periodic job; back to the editors when the
    # schedule is cancelled or cannot be kept, to a run when the article moved on under the link.
    S.SCHEDULED: frozenset({S.PUBLISHED, S.ADMIN_REVIEW, S.PROCESSING, S.REFUNDED}),
    S.PUBLISHED: frozenset({S.REFUNDED}),
    S.FAILED: frozenset({S.AWAITING_APPROVAL, S.PROCESSING, S.REFUNDED}),
    S.REFUNDED: frozenset(),
}
# Paid orders that still hold (or used) an article's backlink slot: one waiting for approval holds it.
SLOT_HOLDING_PAID = (
    S.AWAITING_APPROVAL,
    S.PROCESSING,
    S.QUALITY_CHECK,
    S.ADMIN_REVIEW,
    S.SCHEDULED,
    S.PUBLISHED,
)


def statuses_into(to_status: str) -> frozenset[str]:
    """Every status ALLOWED_TRANSITIONS lets move to ``to_status``."""
    return frozenset(status for status, moves in ALLOWED_TRANSITIONS.items() if to_status in moves)


# What the customer reads of each status in a refusal ("…; right now the draft is with our editors."):
# never the internal name.
CUSTOMER_STATES: dict[str, str] = {
    S.PENDING_PAYMENT: "the order is waiting for its payment",
    S.AWAITING_APPROVAL: "the order is waiting for the publisher to approve your link",
    S.PROCESSING: "a draft is being written",
    S.QUALITY_CHECK: "the draft is waiting for your review",
    S.ADMIN_REVIEW: "the draft is with our editors",
    S.SCHEDULED: "the draft is approved and scheduled to be published",
    S.PUBLISHED: "the order is published",
    S.FAILED: "the order was not completed",
    S.REFUNDED: "the order was refunded",
}


class IllegalTransition(ActionNotAllowed):
    """A status move not listed in ALLOWED_TRANSITIONS; nothing was changed (409 action_not_allowed).

    Its ``message`` (the API's) is plain words; ``detail`` names the move, for logs and staff.
    """

    def __init__(self, order_id: uuid.UUID, from_status: str, to_status: str) -> None:
        super().__init__(f"That is not possible for this order now: {CUSTOMER_STATES[from_status]}.")
        self.detail = f"Order {order_id}: {from_status} -> {to_status} is not allowed"
        self.from_status = from_status
        self.to_status = to_status

    def __str__(self) -> str:
        return self.detail


# Stripe dispute statuses that end a dispute, and those after which the money stays with us.
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed"})
DISPUTE_KEPT_STATUSES = frozenset({"won", "warning_closed"})


class Order(models.Model):
    class Kind(models.TextChoices):
        BACKLINK = "backlink", "Backlink in a published article"
        ARTICLE = "article", "New sponsored article"

    Status: ClassVar[type[OrderStatus]] = OrderStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BACKLINK)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=S.PENDING_PAYMENT)
    # Backlink orders: the published article to link from. Article orders: the article the
    # generator created (empty until the first draft exists).
    article = models.ForeignKey(
        "articles.Article", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    customer_email = models.EmailField()
    target_url = models.URLField(max_length=2000)
    anchor_text = models.CharField(max_length=100)
    customer_notes = models.TextField(blank=True, max_length=1000)
    # Article orders only: the brief.
    topic = models.CharField(max_length=200, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    word_count = models.PositiveIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The link policy's decision at checkout (policy.selectors.policy_decide): the niche the link
    # matched (its name kept, as staff may rename or delete the niche), the rule applied, and the
    # price as base + surcharge = amount. Orders from before the policy have no base_amount.
    policy_niche = models.ForeignKey(
        "policy.Niche", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    policy_niche_name = models.CharField(max_length=100, blank=True)
    policy_rule = models.CharField(max_length=40, blank=True)
    base_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    surcharge_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    # Where the checkout came from (blogorder.throttling.client_ip): open checkouts are capped per client.
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Stripe's receipt for the payment (the charge's ``receipt_url``), fetched once it is paid; blank
    # until then, in TEST MODE, or when Stripe could not be asked.
    receipt_url = models.URLField(max_length=2000, blank=True)
    current_version = models.ForeignKey(
        "articles.ArticleVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Every draft written for the order (the order's side of the link to article versions).
    drafts = models.ManyToManyField(
        "articles.ArticleVersion", through="OrderDraft", related_name="+", blank=True
    )
    regeneration_count = models.PositiveIntegerField(default=0)
    # Job runs requested so far; run N has the deterministic job id "<kind>-<order id>-run-<N>".
    job_runs = models.PositiveIntegerField(default=0)
    queue_job_id = models.CharField(max_length=200, blank=True)
    failure_reason = models.TextField(blank=True)
    # Refunds (ours or from the Stripe dashboard), in the order's currency.
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    # The last refund status Stripe reported for stripe_refund_id (pending, succeeded, failed, canceled…).
    refund_status = models.CharField(max_length=40, blank=True)
    # A chargeback (Stripe dispute) on the order's payment: its id, Stripe's status (needs_response,
    # under_review, won, lost, warning_…) and when it opened. Blank when there is none.
    dispute_id = models.CharField(max_length=255, blank=True)
    dispute_status = models.CharField(max_length=40, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    # The order token is a signature over the id salted with this; rotating it revokes old links.
    token_salt = models.CharField(max_length=64)
    # Recorded at checkout (``purchases.services.checkout.order_needs_approval``): once paid, the order
    # waits in AWAITING_APPROVAL for staff to accept its target (accept_target) or decline it
    # (decline_target, a full refund) before anything is written.
    needs_approval = models.BooleanField(
        default=False, help_text="Paid, it waits for staff to accept the target before any writing."
    )
    # SCHEDULED orders: when the periodic job publishes the approved draft, and who scheduled it
    # (the publish is recorded in their name). Cleared when the schedule is cancelled or kept.
    publish_at = models.DateTimeField(null=True, blank=True, db_index=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["article", "status"]), models.Index(fields=["status", "updated_at"])]
        permissions = [
            ("publish_order", "Can approve and publish orders"),
            ("refund_order", "Can refund orders"),
            ("approve_target", "Can accept or decline the target of an order waiting for approval"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {str(self.id)[:8]} – {self.get_status_display()}"

    def can_move_to(self, to_status: str) -> bool:
        return to_status in ALLOWED_TRANSITIONS[self.status]

    def move_to(self, to_status: str) -> str:
        """Change status in memory if allowed; the caller saves and records. Returns the old status."""
        if not self.can_move_to(to_status):
            raise IllegalTransition(self.id, self.status, to_status)
        previous = self.status
        self.status = to_status
        return previous

    # What the status says, by name, for code that shows or reports an order. What may happen to
    # an order next is asked of its actions (purchases/actions/), never of the status directly.

    @property
    def awaits_payment(self) -> bool:
        """A checkout is open: Stripe may still take the money."""
        return self.status == S.PENDING_PAYMENT

    @property
    def awaits_approval(self) -> bool:
        """Paid, waiting for staff to accept or decline its target: nothing is written yet."""
        return self.status == S.AWAITING_APPROVAL

    @property
    def in_progress(self) -> bool:
        """A job run is wanted: a draft is being written."""
        return self.status == S.PROCESSING

    @property
    def has_failed(self) -> bool:
        return self.status == S.FAILED

    @property
    def is_scheduled(self) -> bool:
        """Approved, waiting for ``publish_at``."""
        return self.status == S.SCHEDULED

    @property
    def is_published(self) -> bool:
        """Its text is live in the article."""
        return self.status == S.PUBLISHED

    @property
    def is_refunded(self) -> bool:
        """Refunded in full, which is final."""
        return self.status == S.REFUNDED

    @property
    def dispute_closed(self) -> bool:
        return self.dispute_status in DISPUTE_CLOSED_STATUSES

    @property
    def link_at_risk(self) -> bool:
        """A dispute is open on the payment, or was lost: the link may go (``take_down_link``)."""
        return bool(self.dispute_id) and self.dispute_status not in DISPUTE_KEPT_STATUSES

    @property
    def display_title(self) -> str:
        """The article's title, or the topic of an article order not yet written."""
        return self.article.title if self.article is not None else self.topic

    @property
    def amount_minor(self) -> int:
        return to_minor_units(self.amount, self.currency)

    @property
    def refundable_minor(self) -> int:
        """What is left to refund, in minor units."""
        return self.amount_minor - to_minor_units(self.refunded_amount, self.currency)

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None


ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


def to_minor_units(amount: Decimal, currency: str) -> int:
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return int(amount)
    return int((amount * 100).quantize(Decimal("1")))


def from_minor_units(amount_minor: int, currency: str) -> Decimal:
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(amount_minor)
    return (Decimal(amount_minor) / 100).quantize(Decimal("0.01"))


class OrderDraft(models.Model):
    """A version written for an order: by job run ``run``, or by a carry-over at publishing (no run).

    The order's side of the link, so ``articles`` knows nothing of orders. (order, run) is unique,
    so a job that runs twice stores one draft: the second insert fails and rolls its version back.
    ``number`` is the draft's number within its order (1, 2, 3… in the order they were stored):
    "Draft n" for the customer and in the admin alike, whatever the article version's number.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="draft_links")
    version = models.OneToOneField(
        "articles.ArticleVersion", on_delete=models.CASCADE, related_name="order_draft"
    )
    run = models.PositiveIntegerField(null=True, blank=True)
    number = models.PositiveIntegerField(help_text="Draft 1, 2, 3… within the order.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "run"], condition=models.Q(run__isnull=False), name="one_draft_per_order_run"
            ),
            models.UniqueConstraint(fields=["order", "number"], name="one_draft_number_per_order"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} draft {self.number} (run {self.run}): version {self.version_id}"


class RunSpendQuerySet(models.QuerySet["RunSpend"]):
    def tokens_spent(self, *, order_id: object) -> int:
        """The model tokens (prompt and completion) every run of the order has spent so far."""
        total = self.filter(order_id=order_id).aggregate(
            total=models.Sum(models.F("prompt_tokens") + models.F("completion_tokens"))
        )["total"]
        return int(total or 0)

    def tokens_spent_subquery(self, *, order_column: str) -> RawSQL:
        """``tokens_spent`` of the order whose id is ``order_column`` (another query's quoted column),
        as a scalar subquery that query selects. Raw SQL: cheap to compile, where the ORM's
        ``Subquery(OuterRef…)`` costs about a millisecond of CPU each time."""
        spends = self.model._meta.db_table
        sql = (
            f'(SELECT COALESCE(SUM(s."prompt_tokens" + s."completion_tokens"), 0) FROM "{spends}" s '
            f'WHERE s."order_id" = {order_column})'
        )
        return RawSQL(sql, (), output_field=models.BigIntegerField())


class RunSpend(models.Model):
    """The model tokens one job run of an order spent, over all its attempts, passed or failed.

    Added to as each reply arrives (``purchases.services.spend``), so a run that fails its checks
    or crashes still counts towards ``MAX_TOKENS_PER_ORDER``; stored versions keep their own usage.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="run_spends")
    run = models.PositiveIntegerField()
    llm_model = models.CharField(max_length=100, blank=True)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[RunSpendQuerySet] = RunSpendQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "run"], name="one_spend_per_order_run")]

    def __str__(self) -> str:
        return f"order {self.order_id} run {self.run}: {self.prompt_tokens}+{self.completion_tokens} tokens"


class OrderTransition(models.Model):
    """Who moved an order from which status to which, when and why.

    A record that moves no status (``from_status == to_status``) notes an event: a link taken down,
    or its article unpublished or published back (``source == ARTICLE_SOURCE``, which the customer
    reads on the order page too).
    """

    # The source of the entries an article's unpublishing and publishing back leave on its orders.
    ARTICLE_SOURCE: ClassVar[str] = "article"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=20, help_text="customer, stripe, worker, staff or system")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status} by {self.actor or self.source}"


class StripeEvent(models.Model):
    """Each Stripe event handled once: its id is unique, so a redelivery changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events"
    )
    outcome = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class EmailKind(models.TextChoices):
    BACKLINK_INTEGRATED = "backlink_integrated", "Backlink integrated"
    REVISION_READY = "revision_ready", "Revision ready"
    ARTICLE_READY = "article_ready", "Article ready"
    ORDER_FAILED = "order_failed", "Order failed"
    ORDER_DELAYED = "order_delayed", "Order delayed (writing service unavailable)"
    REVIEW_REJECTED = "review_rejected", "Changes requested by the editor"
    PUBLISHED = "published", "Your link is live"
    REFUNDED = "refunded", "Order refunded"
    STAFF_MESSAGE = "staff_message", "Message from the editors (to the customer)"
    CUSTOMER_MESSAGE = "customer_message", "Message from the customer (to the editors)"
    AWAITING_APPROVAL = "awaiting_approval", "Paid, waiting for approval of the target"
    TARGET_ACCEPTED = "target_accepted", "Target accepted, writing started"
    TARGET_DECLINED = "target_declined", "Target declined and refunded"
    ARTICLE_UNPUBLISHED = "article_unpublished", "Article unpublished: your link is offline"
    ARTICLE_REPUBLISHED = "article_republished", "Article published back: your link is live again"


class EmailRecord(models.Model):
    """One row per email the customer should get; (order, kind, key) is unique so it goes out once."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=40, choices=EmailKind.choices)
    # The version id the email is about, or another discriminator (e.g. "final").
    key = models.CharField(max_length=300)
    to = models.EmailField()
    subject = models.CharField(max_length=300, blank=True)
    # Words for this email only (an editor's rejection reason, a refund reason).
    note = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set while a deliverer is sending it (claim-then-send, see purchases/services/emails.py).
    claimed_until = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    # A "revision ready" email held back by the once-a-minute limit and folded into a newer one of
    # the same order; it is never sent (see purchases/services/emails.py).
    coalesced_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="coalesced"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind", "key"], name="one_email_per_order_kind_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"


def paid_slot_q(*, prefix: str = "") -> models.Q:
    """Orders paid and alive (not failed, not refunded): each keeps its backlink slot for good."""
    return models.Q(**{f"{prefix}status__in": SLOT_HOLDING_PAID})


def unpaid_failure_q(*, prefix: str = "") -> models.Q:
    """Orders that failed before any money came (checkout expired, payment failed): nothing was bought."""
    return models.Q(**{f"{prefix}status": S.FAILED, f"{prefix}paid_at__isnull": True})


def open_checkout_q(*, now: datetime, prefix: str = "") -> models.Q:
    """Unpaid orders whose checkout has not expired yet, of either kind (the holds that cost nothing)."""
    return models.Q(**{f"{prefix}status": S.PENDING_PAYMENT, f"{prefix}checkout_expires_at__gt": now})


class OrderLookup(models.Model):
    """One "email me my orders" request (``/orders/``, ``POST /api/v1/purchase/lookup``).

    Written by the request with its job (the outbox), whatever the address; only the job looks
    for orders, so the answer and its timing say nothing about the address. The job sends at
    most one email per row: claim-then-send, as ``EmailRecord`` (``purchases/services/lookup.py``).
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "Waiting for the worker"
        SENT = "sent", "Link to the orders sent"
        NO_ORDERS = "no_orders", "No orders under this address: nothing sent"
        FAILED = "failed", "Could not be sent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Trimmed and lower-cased: orders are matched on it ignoring case.
    email = models.EmailField(max_length=254)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    orders_found = models.PositiveIntegerField(null=True, blank=True)
    # Set while a deliverer is sending the email (claim-then-send).
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"orders of {self.email} ({self.outcome})"


class OrderMessage(models.Model):
    """One message of an order's thread between staff and the customer; plain text, never markup.

    A new message is emailed to the other side once, in a digest of every message of that side
    written within ``ORDER_MESSAGE_DIGEST_SECONDS`` (``purchases/services/messages.py``):
    ``digest_key`` names the email(s) that carried it (the ``EmailRecord`` key), set once when the
    digest is queued, with ``emailed_at``. Customer messages also reach the writer as quoted data
    on the next regeneration.
    """

    class Side(models.TextChoices):
        STAFF = "staff", "Editors"
        CUSTOMER = "customer", "Customer"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(max_length=10, choices=Side.choices)
    # Staff messages: who wrote it (kept if the user is deleted: the name goes, the message stays).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField()
    # A staff message sent with "request changes": it was the reason of a reject (emailed with it).
    requested_changes = models.BooleanField(default=False)
    digest_key = models.CharField(max_length=100, blank=True, db_index=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "side", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_side_display()} message on order {self.order_id}"
