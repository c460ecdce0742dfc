"""A job run's draft is ready: the order moves to QUALITY_CHECK and the customer is emailed once."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from articles.models import ArticleVersion
from purchases.actions import FINISH_DRAFT
from purchases.models import EmailKind, OrderStatus
from purchases.services.emails import order_email_queue
from purchases.services.orders import order_lock, order_transition

# backlink_metadata.integration_type of a first draft; any other type (a regeneration) is a revision.
FIRST_DRAFT_TYPES = frozenset({"customer_backlink", "customer_article"})


@FINISH_DRAFT.effect
def order_draft_finish(
    *, order_id: UUID | str, run: int, version: ArticleVersion | None, first_email: EmailKind
) -> str:
    """Make ``version`` (default: the one stored for ``run``) the order's current draft.

    PROCESSING -> QUALITY_CHECK under the order row lock, only while ``run`` is the order's
    latest run; otherwise "skipped". The customer gets ``first_email`` for a first draft
    (``integration_type`` in ``FIRST_DRAFT_TYPES``) and "revision ready" for any later draft; the
    email is keyed by the version, so a run finished twice emails once. Returns "done" or
    "skipped".
    """
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        version = version or ArticleVersion.objects.get(order=order, run=run)
        if not FINISH_DRAFT.run_may_finish(order, run=run):
            return "skipped"
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
            reason=f"version {version.number} passed quality checks",
            extra_fields=("article", "current_version", "regeneration_count", "failure_reason"),
        )
        kind = first_email if first_draft else EmailKind.REVISION_READY
        order_email_queue(order=order, kind=kind, key=f"version-{version.pk}")
    return "done"
