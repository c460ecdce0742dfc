"""The backlink integration run: published base -> LLM (or offline writer) -> checks -> new version.

Idempotent: a run whose version already exists (unique ``(order, run)``) is not written again,
an order no longer PROCESSING is left alone, and emails are keyed by order, kind and version.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.db import transaction

from articles import offline_writer, openai_api
from articles.integration import (
    MAX_ATTEMPTS,
    REPLY_SCHEMA,
    BacklinkBrief,
    build_messages,
    evaluate_reply,
    qc_report,
)
from articles.models import ArticleVersion
from articles.services import version_create
from purchases.actions import FINISH_DRAFT
from purchases.models import EmailKind, Order
from purchases.services.drafts import order_draft_finish
from purchases.services.failures import order_fail
from purchases.services.llm_calls import (
    Progress,
    attempts_run,
    no_progress,
    quality_failure_reason,
    writer_ask,
    writer_name,
)
from purchases.services.orders import order_lock
from queueing.models import JobRequest

logger = logging.getLogger(__name__)


def _ask_writer(brief: BacklinkBrief, failures: list[list[str]]) -> openai_api.LLMReply:
    return writer_ask(
        messages=lambda: build_messages(brief, failures),
        schema_name="backlink_paragraph",
        schema=REPLY_SCHEMA,
        offline=lambda: offline_writer.write(brief),
    )


# backlink_metadata.integration_type for each kind of run (the original system's names).
INTEGRATION_TYPE: dict[str, str] = {
    JobRequest.Purpose.INITIAL: "customer_backlink",
    JobRequest.Purpose.RETRY: "customer_backlink",
    JobRequest.Purpose.REGENERATION: "customer_backlink_regeneration",
    JobRequest.Purpose.REBASE: "customer_backlink_rebase",
}


def _run_purpose(*, order_id: UUID | str, run: int) -> str:
    purpose = JobRequest.objects.filter(order_id=order_id, run=run).values_list("purpose", flat=True).first()
    return purpose or JobRequest.Purpose.INITIAL


def _previous_drafts(order: Order, *, base: ArticleVersion) -> tuple[tuple[int, str], ...]:
    """Placements the customer already saw on this same base, so a regeneration differs."""
    drafts = []
    for version in ArticleVersion.objects.filter(order=order, base_version=base).order_by("run"):
        meta = version.backlink_metadata
        if "paragraph_index" in meta and "paragraph" in meta:
            drafts.append((int(meta["paragraph_index"]), str(meta["paragraph"])))
    return tuple(drafts)


def order_integrate_backlink(*, order_id: UUID | str, run: int, progress: Progress = no_progress) -> str:
    """Run ``run`` of a backlink order. Returns an outcome word: done, skipped, failed."""
    order = Order.objects.select_related("article__published_version").get(pk=order_id)
    if not FINISH_DRAFT.run_may_finish(order, run=run):
        logger.info(
            "integration skipped", extra={"order_id": str(order.id), "status": order.status, "run": run}
        )
        return "skipped"
    if ArticleVersion.objects.filter(order=order, run=run).exists():
        return order_draft_finish(
            order_id=order.id, run=run, version=None, first_email=EmailKind.BACKLINK_INTEGRATED
        )

    article = order.article
    base = article.published_version if article is not None else None
    if article is None or base is None:
        order_fail(order_id=order.id, reason="The article is no longer published.")
        return "failed"
    progress("loading_base", 10, 0)
    purpose = _run_purpose(order_id=order.id, run=run)
    brief = BacklinkBrief(
        title=base.title,
        base_body=base.body_markdown,
        anchor_text=order.anchor_text,
        target_url=order.target_url,
        customer_notes=order.customer_notes,
        rel=settings.SPONSORED_LINK_REL,
        previous=_previous_drafts(order, base=base) if purpose == JobRequest.Purpose.REGENERATION else (),
    )
    attempts, usage = attempts_run(
        ask=lambda failures: _ask_writer(brief, failures),
        evaluate=lambda content: evaluate_reply(brief, content),
        progress=progress,
        label="integration",
        log_extra={"order_id": str(order.id), "run": run},
        max_attempts=MAX_ATTEMPTS,
    )
    report = qc_report(attempts, writer=writer_name())
    if not attempts[-1].ok:
        order_fail(order_id=order.id, reason=quality_failure_reason(attempts))
        return "failed"

    progress("saving", 90, len(attempts))
    with transaction.atomic():
        order = order_lock(order_id=order.id)
        if not FINISH_DRAFT.run_may_finish(order, run=run):
            return "skipped"
        final = attempts[-1]
        version = version_create(
            article=article,
            title=base.title,
            body_markdown=final.body,
            kind=ArticleVersion.Kind.BACKLINK,
            base_version=base,
            order=order,
            run=run,
            backlink_metadata={
                "target_url": order.target_url,
                "anchor_text": order.anchor_text,
                "customer_notes": order.customer_notes,
                "integration_type": INTEGRATION_TYPE[purpose],
                "base_article_version_id": str(base.pk),
                "regeneration_count": order.regeneration_count
                + (1 if purpose == JobRequest.Purpose.REGENERATION else 0),
                "paragraph_index": final.paragraph_index,
                "mode": final.mode,
                "paragraph": final.paragraph,
                "rel": settings.SPONSORED_LINK_REL,
            },
            qc_report=report,
            **usage.version_fields(),
        )
        return order_draft_finish(
            order_id=order.id, run=run, version=version, first_email=EmailKind.BACKLINK_INTEGRATED
        )
