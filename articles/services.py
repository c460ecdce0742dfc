"""Writes on articles and versions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

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
    """A new, unpublished article for a generated draft: default price and currency, unique slug."""
    return _save_with_unique_slug(Article(title=title[:300]), title)


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
    order: Any = None,
    run: int | None = None,
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
        order=order,
        run=run,
        backlink_metadata=backlink_metadata or {},
        qc_report=qc_report or {},
        llm_model=llm_model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        estimated_cost_usd=estimated_cost_usd,
    )


@transaction.atomic
def version_publish(*, version: ArticleVersion) -> Article:
    """Make ``version`` the article's one published version; the previous one stays as history."""
    article = Article.objects.select_for_update().get(pk=version.article_id)
    article.published_version = version
    article.title = version.title
    article.save(update_fields=["published_version", "title", "updated_at"])
    return article
