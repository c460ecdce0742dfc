"""The draft run of an order, one for both kinds: brief -> writer -> checks -> version -> QUALITY_CHECK.

``order_draft_run`` walks the steps; what differs by order kind (the brief, the kind of draft,
the version's fields, the first email, the article a new-article order gets) is the kind's
strategy in ``draft_kinds.py``. The writer (the model, or the offline writer) is
``articles.writers.get_writer()``, chosen once from settings.

Idempotent, so a job may run twice (an RQ retry, a crashed worker, a duplicate enqueue):

- a run does nothing unless the order is PROCESSING on this very run (``job_runs == run``),
  checked when it starts and again under the order row lock before anything is written;
- the version and the move to QUALITY_CHECK commit in one transaction under that lock, so a
  run that stored its version has also moved the order on, and running it again is "skipped";
- the unique ``(order, run)`` draft link (``OrderDraft``) is the backstop should two writes of one
  run ever get past the lock;
- each email is an ``EmailRecord`` keyed by order, kind and version, sent once after commit.

Spend: one ``CallAllowance`` of ``LLM_MAX_CALLS_PER_RUN`` model calls per job try, and a
``TokenBudget`` of what ``MAX_TOKENS_PER_ORDER`` leaves: every reply's tokens are recorded per run
as they arrive (``services.spend``), and a run whose next call would pass the cap stops before
it. Then nothing paid is lost: an order with a draft goes back to QUALITY_CHECK with that draft
(the customer can submit it; ``failure_reason`` says why no new one came), and an order without
one fails like any other run that found no draft (refunded under ``AUTO_REFUND_ON_FAILURE``).
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from articles.drafting.attempts import (
    Progress,
    TokenBudget,
    TokenCapReached,
    draft_attempts,
    no_progress,
    quality_failure_reason,
)
from articles.models import ArticleVersion
from articles.writers import CallAllowance, get_writer
from blogorder.compiled_reads import CompiledRead
from purchases.actions import FINISH_DRAFT, KEEP_DRAFT
from purchases.models import EmailKind, Order, OrderMessage, OrderStatus, RunSpend
from purchases.services.draft_kinds import ORDER_DRAFT_KINDS, NotDraftable, OrderDraftKind, RunFacts
from purchases.services.draft_versions import draft_label, order_version_create
from purchases.services.emails import order_email_queue
from purchases.services.failures import order_fail
from purchases.services.orders import order_lock, order_transition
from purchases.services.spend import run_spend_record
from queueing.selectors import job_request_purpose_of

logger = logging.getLogger(__name__)

B = TypeVar("B")
D = TypeVar("D")

# backlink_metadata.integration_type of a first draft; any other type (a regeneration) is a revision.
FIRST_DRAFT_TYPES = frozenset({"customer_backlink", "customer_article"})


def order_draft_run(
    *, order_id: UUID | str, run: int, order_kind: str, progress: Progress = no_progress
) -> str:
    """Run ``run`` of an order of kind ``order_kind``. Returns an outcome word: done, skipped, failed, stopped.

    Up to ``MAX_ATTEMPTS`` writer calls, each told the failures of the ones before; when the last
    still fails, the order is FAILED (customer emailed once, staff told). On success the draft is
    stored as a new version and the order moves to QUALITY_CHECK in one transaction. An order of
    another kind than the job was enqueued for is skipped, never drafted as the wrong kind.
    """
    order, facts = _order_for_run(order_id=order_id, run=run)
    kind = ORDER_DRAFT_KINDS[order_kind]
    if order.kind != order_kind or not FINISH_DRAFT.run_may_finish(order, run=run):
        logger.info(
            f"{kind.label} skipped",
            extra={"order_id": str(order.id), "kind": order.kind, "status": order.status, "run": run},
        )
        return "skipped"
    return _draft_run(kind, order=order, run=run, facts=facts, progress=progress)


def _order_for_run_queryset(*, order_id: UUID | str, run: int) -> QuerySet[Order]:
    """The order with its article and published version, and what ``RunFacts`` reads, as annotations."""
    orders, messages = (m._meta.db_table for m in (Order, OrderMessage))
    subject = f'"{orders}"."id"'
    # Raw SQL subqueries: cheap to compile, where the ORM's Subquery(OuterRef…) costs ~1 ms of CPU each.
    wrote = f'EXISTS (SELECT 1 FROM "{messages}" m WHERE m."order_id" = {subject} AND m."side" = %s)'
    return (
        Order.objects.select_related("article__published_version")
        .annotate(
            run_purpose=job_request_purpose_of(subject_column=subject, run=run),
            run_tokens_spent=RunSpend.objects.tokens_spent_subquery(order_column=subject),
            run_customer_messages=RawSQL(
                wrote, (OrderMessage.Side.CUSTOMER.value,), output_field=BooleanField()
            ),
        )
        .filter(pk=order_id)
    )


# The same statement for every job but the ids: compiled once per thread and connection.
ORDER_FOR_RUN = CompiledRead(_order_for_run_queryset, params={"order_id": UUID, "run": int})


def _order_for_run(*, order_id: UUID | str, run: int) -> tuple[Order, RunFacts]:
    """The order with its article and published version, and its ``RunFacts``: one query.

    Read before the model is called and without a lock; the run reads the order again under its
    row lock before writing (``order_lock``).
    """
    order: Any = ORDER_FOR_RUN.get(order_id=order_id, run=run)  # with the annotations
    facts = RunFacts(
        purpose=order.run_purpose,
        tokens_spent=int(order.run_tokens_spent),
        customer_messages=bool(order.run_customer_messages),
    )
    return order, facts


def _draft_run(
    kind: OrderDraftKind[B, D], *, order: Order, run: int, facts: RunFacts, progress: Progress
) -> str:
    stage, percent = kind.loading
    progress(stage, percent, 0)
    plan = kind.plan(order, run=run, facts=facts)
    if isinstance(plan, NotDraftable):
        order_fail(order_id=order.id, reason=plan.reason)
        return "failed"
    writer = get_writer()
    budget = TokenBudget(
        cap=settings.MAX_TOKENS_PER_ORDER,
        spent=facts.tokens_spent,
        record=lambda reply: run_spend_record(order_id=order.id, run=run, reply=reply),
    )
    try:
        attempts, usage = draft_attempts(
            kind.draft_kind,
            plan.brief,
            writer=writer,
            progress=progress,
            label=kind.label,
            log_extra={"order_id": str(order.id), "run": run},
            calls=CallAllowance(left=settings.LLM_MAX_CALLS_PER_RUN),
            budget=budget,
        )
    except TokenCapReached as exc:
        logger.warning(
            f"{kind.label} stopped at the token cap",
            extra={"order_id": str(order.id), "run": run, "spent": exc.spent, "cap": exc.cap},
        )
        return order_token_cap_stop(order_id=order.id, run=run)
    final = attempts[-1]
    if final.draft is None or not final.ok:
        order_fail(order_id=order.id, reason=quality_failure_reason(attempts))
        return "failed"
    report = kind.draft_kind.report(attempts, writer=writer.name, brief=plan.brief)

    progress("saving", 90, len(attempts))
    with transaction.atomic():
        order = order_lock(order_id=order.id)
        if not FINISH_DRAFT.run_may_finish(order, run=run):
            return "skipped"
        version = order_version_create(
            order=order,
            run=run,
            fields=kind.version_fields(order, plan, final.draft),
            qc_report=report,
            usage=usage,
        )
        order_draft_finish(order=order, version=version, first_email=kind.first_email)
    return "done"


@FINISH_DRAFT.effect
def order_draft_finish(*, order: Order, version: ArticleVersion, first_email: EmailKind) -> None:
    """Make ``version`` the current draft of ``order`` (locked by the caller): PROCESSING -> QUALITY_CHECK.

    The customer gets ``first_email`` for a first draft (``integration_type`` in
    ``FIRST_DRAFT_TYPES``) and "revision ready" for any later draft; the email is keyed by the
    version, so it is sent once.
    """
    meta = version.backlink_metadata
    first_draft = meta.get("integration_type") in FIRST_DRAFT_TYPES
    # Article orders get their article with the first draft; for backlink orders it is the same one.
    order.article_id = version.article_id
    order.current_version = version
    order.regeneration_count = int(meta.get("regeneration_count", order.regeneration_count))
    order.failure_reason = ""
    order_transition(
        order=order,
        to_status=OrderStatus.QUALITY_CHECK,
        source="worker",
        reason=f"{draft_label(version)} passed quality checks",
        extra_fields=("article", "current_version", "regeneration_count", "failure_reason"),
    )
    kind = first_email if first_draft else EmailKind.REVISION_READY
    order_email_queue(order=order, kind=kind, key=f"version-{version.pk}")


def order_token_cap_stop(*, order_id: UUID, run: int) -> str:
    """Run ``run`` stopped before a call that would pass ``MAX_TOKENS_PER_ORDER``. Returns an outcome word.

    An order with a draft goes back to it (``order_draft_keep``): "stopped". One without fails
    (``order_fail``, refunded under ``AUTO_REFUND_ON_FAILURE``): "failed". "skipped" when the run
    is no longer the order's current one.
    """
    cap = settings.MAX_TOKENS_PER_ORDER
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if KEEP_DRAFT.run_may_keep(order, run=run):
            order_draft_keep(
                order=order,
                reason=(
                    "This order has used its writing allowance, so no new draft was written. "
                    "Your current draft is kept: submit it for editorial review."
                ),
            )
            return "stopped"
        if not FINISH_DRAFT.run_may_finish(order, run=run):
            return "skipped"
    order_fail(
        order_id=order_id,
        reason=f"The order used its model budget (MAX_TOKENS_PER_ORDER = {cap} tokens) before a draft passed.",
    )
    return "failed"


@KEEP_DRAFT.effect
def order_draft_keep(*, order: Order, reason: str) -> None:
    """PROCESSING -> QUALITY_CHECK with the draft ``order`` (locked by the caller) already has; no email.

    ``reason`` goes to the timeline and to ``failure_reason``, which the status API and the order
    page show, so the customer learns why no new draft came; the next passing draft clears it.
    """
    KEEP_DRAFT.check(order)
    order.failure_reason = reason
    order_transition(
        order=order,
        to_status=OrderStatus.QUALITY_CHECK,
        source="worker",
        reason=reason,
        extra_fields=("failure_reason",),
    )
