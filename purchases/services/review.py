"""The customer's review loop and editorial publishing.

Customers regenerate (within the spend limits: ``REGENERATE``'s guard) or submit; staff reject with a reason or approve & publish.
Each service performs one named action (``purchases.actions``) and asks its guard under the order's
row lock, so the API, the order page, the admin and any future caller share the same checks.
Publishing never loses a paid link: a proposal made on an older published version is either
carried over onto the current one (when its paragraph is unchanged, re-checked) or re-run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from articles.drafting.backlink import carry_over
from articles.drafting.kinds import BACKLINK
from articles.models import Article, ArticleVersion
from articles.services import version_publish
from purchases.actions import PUBLISH, REGENERATE, REJECT, SUBMIT_FOR_REVIEW
from purchases.errors import ApplicationError, InvalidField
from purchases.models import EmailKind, Order, OrderStatus
from purchases.services.draft_kinds import backlink_brief
from purchases.services.draft_versions import VersionFields, draft_label, order_draft_of, order_version_create
from purchases.services.emails import order_email_queue, staff_notify
from purchases.services.orders import order_lock, order_transition
from purchases.services.runs import order_job_enqueue
from queueing.models import JobRequest

logger = logging.getLogger(__name__)

CARRY_OVER_WRITER = "carry-over onto the newer published version (no LLM)"


@dataclass(frozen=True)
class PublishResult:
    order_id: UUID
    outcome: str  # published | carried_over | rebased
    message: str


@REGENERATE.effect
def order_regenerate(*, order_id: UUID | str) -> str:
    """QUALITY_CHECK -> PROCESSING and a new run from the current published version. Returns the job id.

    Refused (409) in any other status, once the order has had ``MAX_REGENERATIONS_PER_ORDER``
    regenerations or spent ``MAX_TOKENS_PER_ORDER`` tokens, or while a run for it is still open.
    """
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        REGENERATE.check(order)
        order_transition(
            order=order,
            to_status=OrderStatus.PROCESSING,
            source="customer",
            reason="customer asked for a regeneration",
        )
        return order_job_enqueue(order=order, purpose=JobRequest.Purpose.REGENERATION)


@SUBMIT_FOR_REVIEW.effect
def order_submit_for_review(*, order_id: UUID | str, version_id: int | None = None) -> Order:
    """QUALITY_CHECK -> ADMIN_REVIEW; the editors are emailed that an order waits for them.

    ``version_id`` picks which of the order's drafts goes (default: the current one); it becomes
    the order's current version in the same transaction. Refused, changing nothing: a version
    that is not one of the order's drafts (400 ``invalid``, field ``versionId``), and an earlier
    draft made on a published version the article has since replaced (409 ``draft_outdated``,
    ``SubmitForReview.draft_refusal``).
    """
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        SUBMIT_FOR_REVIEW.check(order)
        reason = "customer submitted the draft"
        extra_fields: tuple[str, ...] = ()
        if version_id is not None:
            link = order_draft_of(order, version_id=version_id)
            if link is None:
                raise InvalidField(
                    "This order has no such draft.", fields={"versionId": ["Not a draft of this order."]}
                )
            refusal = SUBMIT_FOR_REVIEW.draft_refusal(order, draft=link.version, number=link.number)
            if refusal is not None:
                raise refusal
            reason = f"customer submitted {draft_label(link.version)}"
            if link.version_id != order.current_version_id:
                order.current_version = link.version
                extra_fields = ("current_version",)
        order_transition(
            order=order,
            to_status=OrderStatus.ADMIN_REVIEW,
            source="customer",
            reason=reason,
            extra_fields=extra_fields,
        )
        admin_url = settings.SITE_URL + reverse("admin:purchases_order_change", args=[order.pk])
        transaction.on_commit(
            lambda: staff_notify(
                subject=f"Order waiting for review: {order.display_title}",
                message=f"{order.get_kind_display()} for {order.customer_email}.\nReview it: {admin_url}",
            )
        )
    return order


@REJECT.effect
def order_reject(*, order_id: UUID | str, actor: Any, reason: str) -> Order:
    """ADMIN_REVIEW -> QUALITY_CHECK with a required reason, emailed to the customer."""
    REJECT.check_permission(actor)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            "A reason is required to reject.", fields={"reason": ["This field is required."]}
        )
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        REJECT.check(order, actor)
        transition = order_transition(
            order=order, to_status=OrderStatus.QUALITY_CHECK, source="staff", actor=actor, reason=reason
        )
        order_email_queue(
            order=order, kind=EmailKind.REVIEW_REJECTED, key=f"reject-{transition.pk}", note=reason
        )
    return order


@PUBLISH.effect
def order_approve_and_publish(*, order_id: UUID | str, actor: Any) -> PublishResult:
    """Publish the order's proposal in one transaction, keeping every paid link already live.

    Same base as the live version: the proposal is published as is. Older base: carried over
    when the link's paragraph is unchanged (re-checked), else the integration re-runs on the
    current published version (``customer_backlink_rebase``) and the order returns to the customer.
    """
    PUBLISH.check_permission(actor)
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        PUBLISH.check(order, actor)
        return order_proposal_publish(order=order, actor=actor, source="staff")


def order_proposal_publish(
    *, order: Order, actor: Any, source: str, note: str = "", extra_fields: tuple[str, ...] = ()
) -> PublishResult:
    """The publish itself, for a caller holding the order's row lock whose action's guard passed.

    Shared by approve & publish and the scheduled publish (``purchases.services.schedule``), so both
    follow the same stale-base rules: as is, carried over, or re-run (PROCESSING). ``note`` is added
    to the timeline's reason; ``extra_fields`` (changed by the caller) are saved with the move. May raise ``PublishWouldDropPaidLink`` (the caller's transaction rolls back).
    """
    proposal = order.current_version
    # The guard refused an order without a draft.
    assert proposal is not None and order.article_id is not None
    article = (
        Article.objects.select_for_update(of=("self",))
        .select_related("published_version")
        .get(pk=order.article_id)
    )
    live = article.published_version
    if order.kind == Order.Kind.ARTICLE or live is None or proposal.base_version_id == live.pk:
        return _publish(order, proposal, actor=actor, source=source, note=note, extra_fields=extra_fields)
    carried = _carry_over(order=order, proposal=proposal, live=live)
    if carried is not None:
        return _publish(
            order,
            carried,
            actor=actor,
            source=source,
            note=note,
            extra_fields=extra_fields,
            carried_over=True,
        )
    order_transition(
        order=order,
        to_status=OrderStatus.PROCESSING,
        source=source,
        actor=actor,
        reason="the published article changed under the link's paragraph; re-integrating on the current version"
        + note,
        extra_fields=extra_fields,
    )
    order_job_enqueue(order=order, purpose=JobRequest.Purpose.REBASE)
    return PublishResult(
        order.id,
        "rebased",
        "The article was republished since this proposal and the link's paragraph changed, so the link is being "
        "re-integrated into the current published version. The customer will review it and submit again.",
    )


def _publish(
    order: Order,
    version: ArticleVersion,
    *,
    actor: Any,
    source: str,
    note: str,
    extra_fields: tuple[str, ...],
    carried_over: bool = False,
) -> PublishResult:
    version_publish(version=version, actor=actor)
    order.current_version = version
    order_transition(
        order=order,
        to_status=OrderStatus.PUBLISHED,
        source=source,
        actor=actor,
        reason=f"published {draft_label(version)}" + (" (carried over)" if carried_over else "") + note,
        extra_fields=("current_version", *extra_fields),
    )
    order_email_queue(order=order, kind=EmailKind.PUBLISHED, key=f"version-{version.pk}")
    if carried_over:
        message = (
            f"The article was republished since this proposal, but the link's paragraph is unchanged: the link was "
            f"carried over onto the current version, re-checked, and published as version {version.number}."
        )
        return PublishResult(order.id, "carried_over", message)
    return PublishResult(order.id, "published", f"Published version {version.number}.")


def _carry_over(*, order: Order, proposal: ArticleVersion, live: ArticleVersion) -> ArticleVersion | None:
    """The proposal's link moved onto ``live`` without the writer, re-checked; None when not possible."""
    meta = proposal.backlink_metadata
    base = proposal.base_version
    if base is None or "paragraph" not in meta:
        return None
    brief = backlink_brief(order, base=live, rel=str(meta.get("rel") or ""))
    result = carry_over(
        brief,
        old_base_body=base.body_markdown,
        paragraph_index=int(meta["paragraph_index"]),
        mode=str(meta["mode"]),
        paragraph=str(meta["paragraph"]),
    )
    if result is None or result.draft is None or not result.ok:
        logger.info(
            "carry-over not possible",
            extra={"order_id": str(order.id), "failures": result.failures if result else "paragraph changed"},
        )
        return None
    assert order.article is not None
    return order_version_create(
        order=order,
        run=None,
        fields=VersionFields(
            article=order.article,
            title=live.title,
            body_markdown=result.draft.body,
            kind=ArticleVersion.Kind.BACKLINK,
            base_version=live,
            backlink_metadata={
                **meta,
                "base_article_version_id": str(live.pk),
                "paragraph_index": result.draft.paragraph_index,
                "carried_over_from_version_id": proposal.pk,
            },
        ),
        qc_report=BACKLINK.report([result], writer=CARRY_OVER_WRITER, brief=brief),
    )
