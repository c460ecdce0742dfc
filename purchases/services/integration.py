"""The backlink integration run: published base -> LLM (or offline writer) -> checks -> new version.

Idempotent: a run whose version already exists (unique ``(order, run)``) is not written again,
an order no longer PROCESSING is left alone, and emails are keyed by order, kind and version.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction

from articles import offline_writer, openai_api
from articles.costs import estimate_cost_usd
from articles.integration import (
    MAX_ATTEMPTS,
    REPLY_SCHEMA,
    AttemptResult,
    BacklinkBrief,
    build_messages,
    evaluate_reply,
    qc_report,
)
from articles.models import ArticleVersion
from articles.services import version_create
from purchases.models import EmailKind, Order, OrderStatus
from purchases.services.emails import order_email_queue
from purchases.services.failures import order_fail
from purchases.services.orders import order_lock, order_transition
from queueing.models import JobRequest

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class _Usage:
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _no_progress(stage: str, percent: int, attempt: int) -> None:
    return None


def writer_name() -> str:
    return f"openai:{settings.OPENAI_MODEL}" if settings.OPENAI_API_KEY else offline_writer.OFFLINE_MODEL_NAME


def _ask_writer(brief: BacklinkBrief, failures: list[list[str]]) -> openai_api.LLMReply:
    """One writer call. Transient LLM errors wait (Retry-After or jittered backoff) without using a QC attempt."""
    if not settings.OPENAI_API_KEY:
        logger.info("using the OFFLINE writer (OPENAI_API_KEY is unset)")
        return offline_writer.write(brief)
    messages = build_messages(brief, failures)
    retries = settings.LLM_TRANSIENT_RETRIES
    for retry in range(retries + 1):
        try:
            return openai_api.chat_json(
                messages=messages, schema_name="backlink_paragraph", schema=REPLY_SCHEMA
            )
        except openai_api.LLMUnavailable as exc:
            if retry == retries:
                raise
            backoff = settings.LLM_BACKOFF_BASE_SECONDS * min(2**retry, 30) * random.uniform(0.5, 1.5)
            wait = min(
                exc.retry_after if exc.retry_after is not None else backoff, settings.LLM_MAX_WAIT_SECONDS
            )
            logger.warning("LLM unavailable, waiting", extra={"wait_seconds": wait, "error": str(exc)})
            time.sleep(wait)
    raise AssertionError("unreachable")


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


def order_integrate_backlink(*, order_id: UUID | str, run: int, progress: Progress = _no_progress) -> str:
    """Run ``run`` of a backlink order. Returns an outcome word: done, skipped, failed."""
    order = Order.objects.select_related("article__published_version").get(pk=order_id)
    if order.status != OrderStatus.PROCESSING or order.job_runs != run:
        logger.info(
            "integration skipped", extra={"order_id": str(order.id), "status": order.status, "run": run}
        )
        return "skipped"
    if ArticleVersion.objects.filter(order=order, run=run).exists():
        return _finish(order_id=order.id, run=run, version=None)

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
    usage = _Usage()
    attempts: list[AttemptResult] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        progress("writing", 10 + 25 * (attempt - 1), attempt)
        reply = _ask_writer(brief, [a.failures for a in attempts])
        usage.model = reply.model
        usage.prompt_tokens += reply.prompt_tokens
        usage.completion_tokens += reply.completion_tokens
        progress("quality_check", 25 + 25 * (attempt - 1), attempt)
        result = evaluate_reply(brief, reply.content)
        attempts.append(result)
        logger.info(
            "integration attempt",
            extra={
                "order_id": str(order.id),
                "run": run,
                "attempt": attempt,
                "ok": result.ok,
                "failures": result.failures,
            },
        )
        if result.ok:
            break
    report = qc_report(attempts, writer=writer_name())
    if not attempts[-1].ok:
        failures = "; ".join(attempts[-1].failures)
        order_fail(order_id=order.id, reason=f"Quality checks failed {MAX_ATTEMPTS} times. Last: {failures}")
        return "failed"

    progress("saving", 90, len(attempts))
    with transaction.atomic():
        order = order_lock(order_id=order.id)
        if order.status != OrderStatus.PROCESSING or order.job_runs != run:
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
            llm_model=usage.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            estimated_cost_usd=estimate_cost_usd(
                prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
            ),
        )
        return _finish(order_id=order.id, run=run, version=version)


def _finish(*, order_id: UUID | str, run: int, version: ArticleVersion | None) -> str:
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        version = version or ArticleVersion.objects.get(order=order, run=run)
        if order.status != OrderStatus.PROCESSING or order.job_runs != run:
            return "skipped"
        first_draft = (
            version.backlink_metadata.get("integration_type") == INTEGRATION_TYPE[JobRequest.Purpose.INITIAL]
        )
        order.current_version = version
        order.regeneration_count = int(
            version.backlink_metadata.get("regeneration_count", order.regeneration_count)
        )
        order.failure_reason = ""
        order_transition(
            order=order,
            to_status=OrderStatus.QUALITY_CHECK,
            source="worker",
            reason=f"version {version.number} passed quality checks",
            extra_fields=("current_version", "regeneration_count", "failure_reason"),
        )
        kind = EmailKind.BACKLINK_INTEGRATED if first_draft else EmailKind.REVISION_READY
        order_email_queue(order=order, kind=kind, key=f"version-{version.pk}")
    return "done"
