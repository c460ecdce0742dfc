"""Writes on articles and versions."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from articles.content import Link, extract_links
from articles.models import Article, ArticleVersion


@transaction.atomic
def article_create(
    *,
    title: str,
    body_markdown: str,
    slug: str = "",
    backlink_price: Any = None,
    currency: str = "usd",
    max_backlinks: int = 3,
    publish: bool = True,
) -> Article:
    """Create an article with its first (original) version, published unless told otherwise."""
    article = Article(
        title=title, slug=slug or slugify(title)[:200], currency=currency, max_backlinks=max_backlinks
    )
    if backlink_price is not None:
        article.backlink_price = backlink_price
    article.full_clean(exclude=["published_version"])
    article.save()
    version = version_create(
        article=article, title=title, body_markdown=body_markdown, kind=ArticleVersion.Kind.ORIGINAL
    )
    if publish:
        article = version_publish(version=version)
    return article


SLUG_MAX = 200


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
    if article.is_published or article.title == title:
        return article
    article.title = title[:300]
    return _save_with_unique_slug(article, title, update_fields=["title", "slug", "updated_at"])


@transaction.atomic
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
) -> ArticleVersion:
    """Store a new version; numbers are assigned under a lock on the article row."""
    Article.objects.select_for_update().only("id").get(pk=article.pk)
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
    )


class PublishWouldDropPaidLink(Exception):
    """The version lacks a paid link that is live now; publishing it would take the customer's link down."""

    def __init__(self, missing: list[Link]) -> None:
        listed = ", ".join(f"[{link.text}]({link.href})" for link in missing)
        super().__init__(f"This version drops paid links that are live now: {listed}")
        self.missing = missing


def paid_links_missing(*, live_body: str, new_body: str) -> list[Link]:
    """Paid links (those carrying a rel, which only the server writes) of ``live_body`` absent from ``new_body``."""
    kept = Counter((link.href, link.text) for link in extract_links(new_body))
    missing = []
    for link in extract_links(live_body):
        if not link.rel:
            continue
        if kept[(link.href, link.text)] > 0:
            kept[(link.href, link.text)] -= 1
        else:
            missing.append(link)
    return missing


@transaction.atomic
def version_publish(*, version: ArticleVersion, actor: Any = None) -> Article:
    """Make ``version`` the article's one published version; the previous one stays as history.

    Refuses (``PublishWouldDropPaidLink``) a version that would take down a paid link that is
    live now: the published text is the source of truth for what customers paid for.
    """
    article = (
        Article.objects.select_for_update(of=("self",))
        .select_related("published_version")
        .get(pk=version.article_id)
    )
    live = article.published_version
    if live is not None and live.pk != version.pk:
        missing = paid_links_missing(live_body=live.body_markdown, new_body=version.body_markdown)
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
def article_edit_publish(*, article: Article, title: str, body_markdown: str, actor: Any) -> ArticleVersion:
    """An editor's change to the published text: a new EDIT version, published at once.

    Raises ``PublishWouldDropPaidLink`` (and stores nothing) when the edit removes a paid link
    that is live.
    """
    live = Article.objects.select_for_update().get(pk=article.pk).published_version
    if live is not None:
        missing = paid_links_missing(live_body=live.body_markdown, new_body=body_markdown)
        if missing:
            raise PublishWouldDropPaidLink(missing)
    version = version_create(
        article=article,
        title=title,
        body_markdown=body_markdown,
        kind=ArticleVersion.Kind.EDIT,
        base_version=live,
    )
    version_publish(version=version, actor=actor)
    return version
