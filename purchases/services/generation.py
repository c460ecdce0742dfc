"""The article generation run: brief -> LLM (or offline writer) -> checks -> new article version.

Idempotent: a run whose version already exists (unique ``(order, run)``) is not written again,
an order no longer PROCESSING on this run is left alone, and emails are keyed by order, kind and
version. The first passing draft creates the order's (unpublished) Article; every later draft
(a regeneration) is a new version of that same article.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.db import transaction

from articles import offline_writer, openai_api
from articles.generation import (
    DEFAULT_WORD_COUNT,
    MAX_ATTEMPTS,
    REPLY_SCHEMA,
    ArticleBrief,
    PublishedText,
    build_messages,
    evaluate_reply,
    qc_report,
)
from articles.models import ArticleVersion
from articles.selectors import article_published_texts
from articles.services import article_create_draft, article_retitle_draft, version_create
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

logger = logging.getLogger(__name__)


def _ask_writer(brief: ArticleBrief, failures: list[list[str]]) -> openai_api.LLMReply:
    return writer_ask(
        messages=lambda: build_messages(brief, failures),
        schema_name="sponsored_article",
        schema=REPLY_SCHEMA,
        offline=lambda: offline_writer.write_article(brief),
        timeout=settings.OPENAI_ARTICLE_TIMEOUT_SECONDS,
    )


def _brief(order: Order, previous_titles: tuple[str, ...]) -> ArticleBrief:
    return ArticleBrief(
        topic=order.topic,
        keywords=tuple(str(k) for k in order.keywords or ()),
        anchor_text=order.anchor_text,
        target_url=order.target_url,
        customer_notes=order.customer_notes,
        word_count=order.word_count or DEFAULT_WORD_COUNT,
        rel=settings.SPONSORED_LINK_REL,
        previous_titles=previous_titles,
    )


def order_generate_article(*, order_id: UUID | str, run: int, progress: Progress = no_progress) -> str:
    """Run ``run`` of an article order. Returns an outcome word: done, skipped, failed.

    Up to ``MAX_ATTEMPTS`` writer calls, each told the failures of the one before; when the last
    still fails, the order is FAILED and the customer emailed once. The near-copy check compares
    against every published article except the order's own.
    """
    order = Order.objects.select_related("article").get(pk=order_id)
    if order.kind != Order.Kind.ARTICLE or not FINISH_DRAFT.run_may_finish(order, run=run):
        logger.info(
            "generation skipped",
            extra={"order_id": str(order.id), "kind": order.kind, "status": order.status, "run": run},
        )
        return "skipped"
    if ArticleVersion.objects.filter(order=order, run=run).exists():
        return order_draft_finish(
            order_id=order.id, run=run, version=None, first_email=EmailKind.ARTICLE_READY
        )

    progress("loading_brief", 5, 0)
    previous_titles = tuple(
        ArticleVersion.objects.filter(order=order).order_by("run").values_list("title", flat=True)
    )
    brief = _brief(order, previous_titles)
    published = [
        PublishedText.of(ref=slug, body_markdown=body)
        for slug, body in article_published_texts(exclude_article_id=order.article_id)
    ]
    attempts, usage = attempts_run(
        ask=lambda failures: _ask_writer(brief, failures),
        evaluate=lambda content: evaluate_reply(brief, content, published=published),
        progress=progress,
        label="generation",
        log_extra={"order_id": str(order.id), "run": run},
        max_attempts=MAX_ATTEMPTS,
    )
    report = qc_report(attempts, writer=writer_name(), brief=brief)
    if not attempts[-1].ok:
        order_fail(order_id=order.id, reason=quality_failure_reason(attempts))
        return "failed"

    progress("saving", 90, len(attempts))
    final = attempts[-1]
    with transaction.atomic():
        order = order_lock(order_id=order.id)
        if not FINISH_DRAFT.run_may_finish(order, run=run):
            return "skipped"
        is_regeneration = bool(previous_titles)
        if order.article is None:
            article = article_create_draft(title=final.title)
        else:
            article = article_retitle_draft(article=order.article, title=final.title)
        version = version_create(
            article=article,
            title=final.title,
            body_markdown=final.body,
            kind=ArticleVersion.Kind.GENERATED,
            order=order,
            run=run,
            backlink_metadata={
                "target_url": order.target_url,
                "anchor_text": order.anchor_text,
                "customer_notes": order.customer_notes,
                "integration_type": "customer_article_regeneration"
                if is_regeneration
                else "customer_article",
                "regeneration_count": order.regeneration_count + (1 if is_regeneration else 0),
                "topic": brief.topic,
                "keywords": list(brief.keywords),
                "word_count": brief.word_count,
                "rel": brief.rel,
            },
            qc_report=report,
            **usage.version_fields(),
        )
        return order_draft_finish(
            order_id=order.id, run=run, version=version, first_email=EmailKind.ARTICLE_READY
        )
