"""What differs between a backlink order and a new-article order in the one draft run.

Each order kind is one strategy object (``ORDER_DRAFT_KINDS``, chosen by ``Order.kind``): the
brief it builds from the order, the kind of draft it asks for (``articles.drafting.kinds``), the
version it stores (fields and ``backlink_metadata``), the first email it sends, and, for
new-article orders, the article the first draft creates. ``draft_run.py`` walks the steps.

The backlink brief is built in one place (``backlink_brief``), used by the run and by the
carry-over at publishing. How a draft version is tied to its order is ``draft_versions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.conf import settings

from articles.drafting.article import DEFAULT_WORD_COUNT, ArticleBrief, ArticleDraft, PublishedText
from articles.drafting.backlink import BacklinkBrief, BacklinkDraft
from articles.drafting.kinds import ARTICLE, BACKLINK, DraftKind
from articles.models import ArticleVersion
from articles.selectors import article_published_texts
from articles.services import article_create_draft, article_retitle_draft
from purchases.models import EmailKind, Order
from purchases.selectors import customer_messages_for_prompt
from purchases.services.draft_versions import VersionFields, article_draft_titles, backlink_drafts_on
from queueing.models import JobRequest

B = TypeVar("B")
D = TypeVar("D")


@dataclass(frozen=True)
class DraftPlan(Generic[B]):
    """One run's brief and what its version will record about the run."""

    brief: B
    integration_type: str  # backlink_metadata.integration_type
    regeneration: bool  # counts towards the order's regeneration_count
    base: ArticleVersion | None = None  # the published version a backlink is woven into


@dataclass(frozen=True)
class NotDraftable:
    """The order cannot be drafted at all; the run fails it with this reason."""

    reason: str


@dataclass(frozen=True)
class RunFacts:
    """What a run knows of its order beyond its row, read with it in one query (``draft_run``)."""

    purpose: str  # why this run was asked for (``JobRequest.Purpose``)
    tokens_spent: int  # by every run of the order so far (``RunSpend``)
    customer_messages: bool  # whether the customer wrote any message on the order


class OrderDraftKind(Protocol[B, D]):
    """The strategy of one order kind for the draft run.

    ``label`` names the run in logs (``"<label> attempt"``); ``loading`` is the progress stage
    and percent reported while the brief is built.
    """

    label: str
    loading: tuple[str, int]
    draft_kind: DraftKind[B, D]
    first_email: EmailKind

    def plan(self, order: Order, *, run: int, facts: RunFacts) -> DraftPlan[B] | NotDraftable: ...

    def version_fields(self, order: Order, plan: DraftPlan[B], draft: D) -> VersionFields:
        """The new version's fields; runs inside the run's transaction, under the order row lock."""
        ...


def backlink_brief(
    order: Order,
    *,
    base: ArticleVersion,
    rel: str = "",
    previous: tuple[tuple[int, str], ...] = (),
    customer_messages: bool = True,
) -> BacklinkBrief:
    """The brief to weave ``order``'s link into ``base``: the one place it is built (run and carry-over).

    ``rel``: the one the proposal was made with (carry-over); by default ``SPONSORED_LINK_REL``.
    The customer's latest messages go with it, quoted as data (``customer_messages_for_prompt``),
    unless the caller knows there are none (``customer_messages=False``: not read).
    """
    return BacklinkBrief(
        title=base.title,
        base_body=base.body_markdown,
        anchor_text=order.anchor_text,
        target_url=order.target_url,
        customer_notes=order.customer_notes,
        rel=rel or settings.SPONSORED_LINK_REL,
        previous=previous,
        prompt_history=settings.PROMPT_PREVIOUS_DRAFTS,
        customer_messages=customer_messages_for_prompt(order) if customer_messages else (),
    )


# backlink_metadata.integration_type for each kind of run (the original system's names).
INTEGRATION_TYPE: dict[str, str] = {
    JobRequest.Purpose.INITIAL: "customer_backlink",
    JobRequest.Purpose.RETRY: "customer_backlink",
    JobRequest.Purpose.REGENERATION: "customer_backlink_regeneration",
    JobRequest.Purpose.REBASE: "customer_backlink_rebase",
}


class BacklinkOrderDraft:
    """A backlink woven into the article's current published version; a regeneration avoids the
    placements already shown on that same base."""

    label = "integration"
    loading = ("loading_base", 10)
    draft_kind = BACKLINK
    first_email = EmailKind.BACKLINK_INTEGRATED

    def plan(self, order: Order, *, run: int, facts: RunFacts) -> DraftPlan[BacklinkBrief] | NotDraftable:
        base = order.article.published_version if order.article is not None else None
        if base is None:
            return NotDraftable("The article is no longer published.")
        regeneration = facts.purpose == JobRequest.Purpose.REGENERATION
        previous = backlink_drafts_on(order, base=base) if regeneration else ()
        return DraftPlan(
            brief=backlink_brief(
                order, base=base, previous=previous, customer_messages=facts.customer_messages
            ),
            integration_type=INTEGRATION_TYPE[facts.purpose],
            regeneration=regeneration,
            base=base,
        )

    def version_fields(
        self, order: Order, plan: DraftPlan[BacklinkBrief], draft: BacklinkDraft
    ) -> VersionFields:
        base = plan.base
        assert order.article is not None and base is not None
        return VersionFields(
            article=order.article,
            title=base.title,
            body_markdown=draft.body,
            kind=ArticleVersion.Kind.BACKLINK,
            base_version=base,
            backlink_metadata={
                "target_url": order.target_url,
                "anchor_text": order.anchor_text,
                "customer_notes": order.customer_notes,
                "integration_type": plan.integration_type,
                "base_article_version_id": str(base.pk),
                "regeneration_count": order.regeneration_count + (1 if plan.regeneration else 0),
                "paragraph_index": draft.paragraph_index,
                "mode": draft.mode,
                "paragraph": draft.paragraph,
                "rel": plan.brief.rel,
            },
        )


class ArticleOrderDraft:
    """A whole article from the customer's brief, not a near-copy of any published article. The
    first passing draft creates the order's (unpublished) Article; later drafts are new versions
    of it and must not reuse an earlier title."""

    label = "generation"
    loading = ("loading_brief", 5)
    draft_kind = ARTICLE
    first_email = EmailKind.ARTICLE_READY

    def plan(self, order: Order, *, run: int, facts: RunFacts) -> DraftPlan[ArticleBrief] | NotDraftable:
        previous_titles = article_draft_titles(order)
        published = tuple(
            PublishedText.of(ref=slug, body_markdown=body)
            for slug, body in article_published_texts(exclude_article_id=order.article_id)
        )
        brief = ArticleBrief(
            topic=order.topic,
            keywords=tuple(str(k) for k in order.keywords or ()),
            anchor_text=order.anchor_text,
            target_url=order.target_url,
            customer_notes=order.customer_notes,
            word_count=order.word_count or DEFAULT_WORD_COUNT,
            rel=settings.SPONSORED_LINK_REL,
            previous_titles=previous_titles,
            published=published,
            prompt_history=settings.PROMPT_PREVIOUS_DRAFTS,
            customer_messages=customer_messages_for_prompt(order) if facts.customer_messages else (),
        )
        regeneration = bool(previous_titles)
        return DraftPlan(
            brief=brief,
            integration_type="customer_article_regeneration" if regeneration else "customer_article",
            regeneration=regeneration,
        )

    def version_fields(
        self, order: Order, plan: DraftPlan[ArticleBrief], draft: ArticleDraft
    ) -> VersionFields:
        if order.article is None:
            article = article_create_draft(title=draft.title)
        else:
            article = article_retitle_draft(article=order.article, title=draft.title)
        brief = plan.brief
        return VersionFields(
            article=article,
            title=draft.title,
            body_markdown=draft.body,
            kind=ArticleVersion.Kind.GENERATED,
            base_version=None,
            backlink_metadata={
                "target_url": order.target_url,
                "anchor_text": order.anchor_text,
                "customer_notes": order.customer_notes,
                "integration_type": plan.integration_type,
                "regeneration_count": order.regeneration_count + (1 if plan.regeneration else 0),
                "topic": brief.topic,
                "keywords": list(brief.keywords),
                "word_count": brief.word_count,
                "rel": brief.rel,
            },
        )


ORDER_DRAFT_KINDS: dict[str, OrderDraftKind[Any, Any]] = {
    Order.Kind.BACKLINK: BacklinkOrderDraft(),
    Order.Kind.ARTICLE: ArticleOrderDraft(),
}
