"""An order's draft versions: storing one, and reading the earlier ones.

The draft pipeline's only module that knows how a version is tied to its order (an
``OrderDraft`` row, the order's side of the link): the run and the carry-over at publishing store
through ``order_version_create``, and each read of earlier drafts is one function here.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.db import transaction
from django.db.models import Max

from articles.drafting.attempts import Usage
from articles.models import Article, ArticleVersion
from articles.services import version_create
from purchases.models import Order, OrderDraft


class VersionFields(TypedDict):
    article: Article
    title: str
    body_markdown: str
    kind: str
    base_version: ArticleVersion | None
    backlink_metadata: dict[str, Any]


@transaction.atomic(savepoint=False)
def order_version_create(
    *,
    order: Order,
    run: int | None,
    fields: VersionFields,
    qc_report: dict[str, Any],
    usage: Usage | None = None,
) -> ArticleVersion:
    """Store a draft version of ``order``, written by job run ``run`` (None: a carry-over at publishing).

    At most one draft per ``(order, run)``: the unique draft link makes a second store of the
    same run fail, rolling its version back. The draft gets the order's next draft number (1, 2,
    3…); the caller holds the order row lock, so two stores never take the same one (the unique
    ``(order, number)`` constraint is the backstop). The caller moves the order on in the same
    transaction. No savepoint of its own: a failure here fails the caller's whole transaction, which
    is what the run wants (nothing of a run that could not store its draft is kept).
    """
    version = version_create(
        **fields,
        qc_report=qc_report,
        **(usage.version_fields() if usage is not None else {}),
    )
    last = OrderDraft.objects.filter(order=order).aggregate(last=Max("number"))["last"] or 0
    OrderDraft.objects.create(order=order, version=version, run=run, number=last + 1)
    return version


def draft_label(version: ArticleVersion) -> str:
    """The draft in the timeline's words, "draft n (article version N)": the order's number first."""
    try:
        return f"draft {version.order_draft.number} (article version {version.number})"
    except OrderDraft.DoesNotExist:
        return f"article version {version.number}"


def order_draft_of(order: Order, *, version_id: int) -> OrderDraft | None:
    """The order's draft link to version ``version_id`` (its version loaded), or None if it is not one of its drafts."""
    return OrderDraft.objects.select_related("version").filter(order=order, version_id=version_id).first()


def backlink_drafts_on(order: Order, *, base: ArticleVersion) -> tuple[tuple[int, str], ...]:
    """``(paragraph_index, paragraph)`` of the order's earlier drafts on ``base``, oldest first."""
    drafts = []
    for version in order.drafts.filter(base_version=base).order_by("order_draft__run"):
        meta = version.backlink_metadata
        if "paragraph_index" in meta and "paragraph" in meta:
            drafts.append((int(meta["paragraph_index"]), str(meta["paragraph"])))
    return tuple(drafts)


def article_draft_titles(order: Order) -> tuple[str, ...]:
    """The titles of the order's earlier drafts, oldest first."""
    return tuple(order.drafts.order_by("order_draft__run").values_list("title", flat=True))
