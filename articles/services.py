"""Writes on articles and versions."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from articles.content import Link, extract_links
from articles.models import Article, ArticleEvent, ArticleVersion, Category
from blogorder.compiled_reads import CompiledRead
from blogorder.errors import ActionNotAllowed, ApplicationError


@transaction.atomic
def article_create(
    *,
    title: str,
    body_markdown: str,
    slug: str = "",
    backlink_price: Any = None,
    currency: str = "usd",
    max_backlinks: int = 3,
    language: str = "en",
    categories: Iterable[Category] = (),
    needs_approval: bool = False,
    publish: bool = True,
    actor: Any = None,
) -> Article:
    """Create an article with its first (original) version, published unless told otherwise."""
    article = Article(
        title=title,
        slug=slug or slugify(title)[:200],
        currency=currency,
        max_backlinks=max_backlinks,
        language=language,
        needs_approval=needs_approval,
    )
    if backlink_price is not None:
        article.backlink_price = backlink_price
    article.full_clean(exclude=["published_version"])
    article.save()
    article.categories.set(categories)
    version = version_create(
        article=article,
        title=title,
        body_markdown=body_markdown,
        kind=ArticleVersion.Kind.ORIGINAL,
        created_by=actor,
    )
    if publish:
        article = version_publish(version=version, actor=actor)
    return article


SLUG_MAX = 200


def category_ensure(*, slug: str, name: str, description: str = "") -> Category:
    """The category with ``slug``, created with ``name`` and ``description`` if missing (kept as is if present)."""
    category, _ = Category.objects.get_or_create(
        slug=slug, defaults={"name": name, "description": description}
    )
    return category


def _slug_candidates(title: str) -> Iterator[str]:
    base = slugify(title)[:SLUG_MAX].strip("-") or "article"
    yield base
    for n in itertools.count(2):
        suffix = f"-{n}"
        yield base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix


def _save_with_unique_slug(
    article: Article, title: str, *, update_fields: list[str] | None = None
) -> Article:
    """Save ``article`` under the first free slug for ``title`` (``-2``, ``-3``… when taken).

    A concurrent insert of the same slug makes the unique index fail; the savepoint lets us
    move on to the next candidate instead of failing the caller's transaction.
    """
    for slug in _slug_candidates(title):
        if Article.objects.filter(slug=slug).exclude(pk=article.pk).exists():
            continue
        article.slug = slug
        try:
            with transaction.atomic():
                article.save(update_fields=update_fields)
        except IntegrityError:
            continue
        return article
    raise AssertionError("unreachable")


@transaction.atomic
def article_create_draft(*, title: str) -> Article:
    """A new, unpublished article for a generated draft: unique slug, and no backlink slots for sale.

    A sponsored article carries its sponsor's link only; staff may open slots later in admin.
    """
    return _save_with_unique_slug(Article(title=title[:300], max_backlinks=0), title)


@transaction.atomic
def article_retitle_draft(*, article: Article, title: str) -> Article:
    """Give a never-published article a new draft's title and a slug to match; published ones keep theirs."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    if article.is_published or article.is_unpublished or article.title == title:
        return article
    article.title = title[:300]
    return _save_with_unique_slug(article, title, update_fields=["title", "slug", "updated_at"])


# The article row locked while a version number is taken: compiled once per thread and connection.
ARTICLE_NUMBERING_LOCK = CompiledRead(
    lambda article_id: Article.objects.select_for_update().only("id").filter(pk=article_id),
    params={"article_id": int},
)


@transaction.atomic(savepoint=False)
def version_create(
    *,
    article: Article,
    title: str,
    body_markdown: str,
    kind: str,
    base_version: ArticleVersion | None = None,
    backlink_metadata: dict[str, Any] | None = None,
    qc_report: dict[str, Any] | None = None,
    llm_model: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    estimated_cost_usd: Decimal = Decimal("0"),
    created_by: Any = None,
    reason: str = "",
    restored_from: ArticleVersion | None = None,
) -> ArticleVersion:
    """Store a new version; numbers are assigned under a lock on the article row.

    ``created_by`` and ``reason`` say who made it and why (staff edits, restores, take-downs); a
    version an order's run wrote has neither, its author being the order (``purchases.OrderDraft``).
    Inside a caller's transaction it takes no savepoint: nothing catches its errors to carry on.
    """
    ARTICLE_NUMBERING_LOCK.get(article_id=article.pk)
    last = ArticleVersion.objects.filter(article=article).aggregate(n=Max("number"))["n"] or 0
    return ArticleVersion.objects.create(
        article=article,
        number=last + 1,
        title=title,
        body_markdown=body_markdown,
        kind=kind,
        base_version=base_version,
        backlink_metadata=backlink_metadata or {},
        qc_report=qc_report or {},
        llm_model=llm_model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        estimated_cost_usd=estimated_cost_usd,
        created_by=created_by if getattr(created_by, "pk", None) else None,
        reason=reason,
        restored_from=restored_from,
    )


PUBLISH_PERMISSION = "articles.publish_article"


class PublishPermissionRequired(ApplicationError):
    """Someone without ``articles.publish_article`` tried to change an article's published text (403)."""

    status_code = 403
    code = "permission_denied"


def can_publish_articles(actor: Any) -> bool:
    """An active staff user holding ``articles.publish_article`` (superusers hold every permission)."""
    return bool(
        actor is not None
        and getattr(actor, "is_active", False)
        and getattr(actor, "is_staff", False)
        and actor.has_perm(PUBLISH_PERMISSION)
    )


# --- paid links: which links are paid is the orders' record, asked through a provider ----------


@dataclass(frozen=True)
class PaidLink:
    """A link someone paid for and that must stay live: ``href`` as markdown-it normalizes it, the
    anchor ``text``, and the ``rel`` the link must carry (``sponsored``)."""

    href: str
    text: str
    rel: str

    def matches(self, link: Link) -> bool:
        return link.href == self.href and link.text == self.text and self.rel in link.rel.split()


ProtectedLinksProvider = Callable[[int], Sequence[PaidLink]]


def _no_paid_links(article_id: int) -> Sequence[PaidLink]:
    return ()


_protected_links_provider: ProtectedLinksProvider = _no_paid_links


def set_protected_links_provider(provider: ProtectedLinksProvider | None) -> None:
    """Register who knows which links of an article are paid and live (``None``: nobody, so none are).

    ``articles`` knows no orders: ``purchases`` registers its record here at start-up
    (``PurchasesConfig.ready``), so the guard asks the database, never the text.
    """
    global _protected_links_provider
    _protected_links_provider = provider or _no_paid_links


def protected_links(*, article_id: int) -> Sequence[PaidLink]:
    """The links of ``article_id`` that live paid orders own, from the registered provider."""
    return _protected_links_provider(article_id)


class PublishWouldDropPaidLink(ApplicationError):
    """The version lacks a paid link that is live now; publishing it would take the customer's link down."""

    status_code = 409
    code = "paid_link_missing"

    def __init__(self, missing: list[PaidLink]) -> None:
        listed = ", ".join(f"[{link.text}]({link.href})" for link in missing)
        super().__init__(f"This version drops paid links that are live now: {listed}")
        self.missing = missing


class PaidLookingLinkRefused(ApplicationError):
    """Staff text marks a link with ``{rel=…}`` that no live paid order owns: only orders make links paid."""

    code = "invalid"

    def __init__(self, links: list[Link]) -> None:
        listed = ", ".join(f'[{link.text}]({link.href}){{rel="{link.rel}"}}' for link in links)
        super().__init__(
            f"Remove {{rel=…}} from {listed}: a link is paid only when a published order owns it, "
            "and only those keep their rel.",
            fields={"body_markdown": ["Links may not carry a rel unless a published order owns them."]},
        )
        self.links = links


def paid_links_missing(*, live_body: str, new_body: str, paid: Sequence[PaidLink]) -> list[PaidLink]:
    """The ``paid`` links live in ``live_body`` (with their rel) that ``new_body`` no longer carries.

    Counted per link: two orders for the same URL and anchor need two such links. A paid link
    already lost from the live text (the audit reports it) does not block other edits.
    """
    live_links, new_links = extract_links(live_body), extract_links(new_body)
    missing: list[PaidLink] = []
    for link, owed in Counter(paid).items():
        live = sum(1 for found in live_links if link.matches(found))
        kept = sum(1 for found in new_links if link.matches(found))
        missing += [link] * max(0, min(owed, live) - kept)
    return missing


def paid_looking_links(*, body: str, paid: Sequence[PaidLink]) -> list[Link]:
    """Links of ``body`` carrying a rel that no ``paid`` link accounts for (each paid link covers one)."""
    owed = Counter((link.href, link.text) for link in paid)
    unowned: list[Link] = []
    for link in extract_links(body):
        if not link.rel:
            continue
        if owed[(link.href, link.text)] > 0:
            owed[(link.href, link.text)] -= 1
        else:
            unowned.append(link)
    return unowned


def article_edit_refusal(*, article: Article | None, body_markdown: str) -> ApplicationError | None:
    """Why staff may not publish ``body_markdown`` as ``article``'s text; None when they may.

    Asked by the article form (a form error) and by ``article_edit_publish`` (under the lock).
    """
    paid = protected_links(article_id=article.pk) if article is not None and article.pk else ()
    typed = paid_looking_links(body=body_markdown, paid=paid)
    if typed:
        return PaidLookingLinkRefused(typed)
    live = article.published_version if article is not None and article.pk else None
    if live is not None:
        missing = paid_links_missing(live_body=live.body_markdown, new_body=body_markdown, paid=paid)
        if missing:
            return PublishWouldDropPaidLink(missing)
    return None


@transaction.atomic
def version_publish(
    *, version: ArticleVersion, actor: Any = None, protected: Sequence[PaidLink] | None = None
) -> Article:
    """Make ``version`` the article's one published version; the previous one stays as history.

    Refuses (``PublishWouldDropPaidLink``) a version that would take down a link a live paid order
    owns: ``protected`` when the caller knows them, else the registered provider's answer (the
    orders' record, not the ``rel`` in the text).
    """
    article = (
        Article.objects.select_for_update(of=("self",))
        .select_related("published_version")
        .get(pk=version.article_id)
    )
    live = article.published_version
    if live is not None and live.pk != version.pk:
        paid = protected_links(article_id=article.pk) if protected is None else protected
        missing = paid_links_missing(live_body=live.body_markdown, new_body=version.body_markdown, paid=paid)
        if missing:
            raise PublishWouldDropPaidLink(missing)
    article.published_version = version
    article.title = version.title
    article.save(update_fields=["published_version", "title", "updated_at"])
    version.published_at = timezone.now()
    version.published_by = actor if getattr(actor, "pk", None) else None
    version.save(update_fields=["published_at", "published_by"])
    return article


@transaction.atomic
def article_edit_publish(
    *, article: Article, title: str, body_markdown: str, actor: Any, reason: str = ""
) -> ArticleVersion:
    """An editor's change to the published text: a new EDIT version, published at once.

    Needs ``articles.publish_article`` (``PublishPermissionRequired``, 403). Refuses, storing
    nothing, a text that drops a link a live paid order owns (``PublishWouldDropPaidLink``) or
    marks with ``{rel=…}`` a link no live paid order owns (``PaidLookingLinkRefused``): staff
    cannot make a link paid by typing one.
    """
    if not can_publish_articles(actor):
        raise PublishPermissionRequired("You do not have permission to publish articles.")
    locked = (
        Article.objects.select_for_update(of=("self",)).select_related("published_version").get(pk=article.pk)
    )
    refusal = article_edit_refusal(article=locked, body_markdown=body_markdown)
    if refusal is not None:
        raise refusal
    live = locked.published_version
    version = version_create(
        article=article,
        title=title,
        body_markdown=body_markdown,
        kind=ArticleVersion.Kind.EDIT,
        base_version=live,
        created_by=actor,
        reason=reason.strip(),
    )
    version_publish(version=version, actor=actor)
    return version


# --- history: restore a version, take the article off the site and publish it back ---------------


class ArticleNotPublished(ActionNotAllowed):
    """The article is not on the site (never published, or unpublished by staff): 409."""

    code = "article_not_published"


def _required_reason(reason: str, *, doing: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            f"A reason is required to {doing}.", fields={"reason": ["This field is required."]}
        )
    return reason


def _check_publisher(actor: Any) -> None:
    if not can_publish_articles(actor):
        raise PublishPermissionRequired("You do not have permission to publish articles.")


def _locked_article(article_id: int) -> Article:
    return (
        Article.objects.select_for_update(of=("self",))
        .select_related("published_version", "unpublished_version")
        .get(pk=article_id)
    )


@transaction.atomic
def version_restore(*, version: ArticleVersion, actor: Any, reason: str) -> ArticleVersion:
    """Publish ``version``'s title and text again as a NEW version (kind RESTORE), with who and why.

    The same guard as an editor's edit (``article_edit_refusal``, under the article's row lock):
    refused, storing nothing, when the old text lacks a link a live paid order owns now
    (``PublishWouldDropPaidLink``, naming the links: take the link down first, which records why)
    or carries a rel on a link no live paid order owns (``PaidLookingLinkRefused``, e.g. a refunded
    order's link). Needs ``articles.publish_article``; the article must be on the site.
    """
    _check_publisher(actor)
    reason = _required_reason(reason, doing="restore a version")
    article = _locked_article(version.article_id)
    live = article.published_version
    if live is None:
        raise ArticleNotPublished(
            f"“{article.title}” is not published; publish it back before restoring a version."
        )
    if version.pk == live.pk:
        raise ActionNotAllowed(f"Version {version.number} is the published version already.")
    refusal = article_edit_refusal(article=article, body_markdown=version.body_markdown)
    if refusal is not None:
        raise refusal
    restored = version_create(
        article=article,
        title=version.title,
        body_markdown=version.body_markdown,
        kind=ArticleVersion.Kind.RESTORE,
        base_version=live,
        created_by=actor,
        reason=reason,
        restored_from=version,
    )
    version_publish(version=restored, actor=actor)
    return restored


@transaction.atomic
def article_unpublish(*, article_id: int, actor: Any, reason: str) -> ArticleEvent:
    """Take the article off the site: readers, the catalog and checkout no longer see it.

    Its published version is kept as ``unpublished_version`` for ``article_republish``; the event
    records who and why. What it means for orders is ``purchases`` business (it calls this).
    """
    _check_publisher(actor)
    reason = _required_reason(reason, doing="unpublish an article")
    article = _locked_article(article_id)
    live = article.published_version
    if live is None:
        raise ArticleNotPublished(f"“{article.title}” is not published.")
    article.unpublished_version = live
    article.published_version = None
    article.save(update_fields=["published_version", "unpublished_version", "updated_at"])
    return ArticleEvent.objects.create(
        article=article, kind=ArticleEvent.Kind.UNPUBLISHED, version=live, actor=actor, reason=reason
    )


@transaction.atomic
def article_republish(*, article_id: int, actor: Any, reason: str) -> ArticleEvent:
    """Put an unpublished article back on the site with the version it had when it was taken off."""
    _check_publisher(actor)
    reason = _required_reason(reason, doing="publish an article back")
    article = _locked_article(article_id)
    version = article.unpublished_version
    if version is None:
        raise ActionNotAllowed(f"“{article.title}” was not unpublished, so there is nothing to publish back.")
    article.published_version = version
    article.unpublished_version = None
    article.title = version.title
    article.save(update_fields=["published_version", "unpublished_version", "title", "updated_at"])
    return ArticleEvent.objects.create(
        article=article, kind=ArticleEvent.Kind.REPUBLISHED, version=version, actor=actor, reason=reason
    )
