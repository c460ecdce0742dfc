"""Reads on articles (content only; what is for sale and its slots is ``purchases.catalog``)."""

from __future__ import annotations

from collections.abc import Iterable

from articles.content import excerpt, extract_links, normalize_href, plain_text, shortened, split_paragraphs
from articles.models import ArticleVersion, Category


def article_published_texts(*, exclude_article_id: int | None = None) -> list[tuple[str, str]]:
    """``(slug, published body)`` of every published article, for the near-copy check.

    One query; the bodies are read in full, so this grows with the catalog (fine for a blog's
    few thousand articles; an index of shingles would be the next step beyond that).
    """
    qs = ArticleVersion.objects.filter(published_in__isnull=False)
    if exclude_article_id is not None:
        qs = qs.exclude(article_id=exclude_article_id)
    return [(slug, body) for slug, body in qs.values_list("article__slug", "body_markdown").order_by("id")]


def version_preview(version: ArticleVersion, *, limit: int = 300) -> str:
    """What a customer is shown of a draft: for a backlink draft (one with a base) their own paragraph, the one holding
    their link as the draft's text has it (the metadata's ``paragraph`` copy when none does); else
    the opening of the text without its title. Plain text (``articles.content``): no link mark,
    Markdown or HTML entity. A paragraph too long for ``limit`` whose opening would leave out the
    link (a sentence appended to a long paragraph) is shown from the sentence holding the link."""
    target = version.backlink_metadata.get("target_url")
    if target and version.base_version_id is not None:  # a backlink draft, made on a published base
        href = normalize_href(str(target))
        paragraph = next(
            (
                p
                for p in split_paragraphs(version.body_markdown)
                if any(link.href == href for link in extract_links(p))
            ),
            None,
        )
        if paragraph:
            return _showing(
                plain_text(paragraph), str(version.backlink_metadata.get("anchor_text") or ""), limit
            )
    paragraph = version.backlink_metadata.get("paragraph")
    if paragraph:
        return plain_text(str(paragraph), limit=limit)
    return excerpt(version.body_markdown, limit=limit, title=version.title)


def _showing(text: str, words: str, limit: int) -> str:
    """``text`` shortened to ``limit``; when its opening would cut ``words`` off, "… " and the text
    from the start of the sentence holding them."""
    opening = shortened(text, limit)
    at = text.find(words) if words else -1
    if at < 0 or len(text) <= limit or at + len(words) <= len(opening) - 1:
        return opening
    start = max(text.rfind(end, 0, at) for end in (". ", "! ", "? "))
    return "… " + shortened(text[start + 2 :] if start >= 0 else text, limit - 2)


def category_list() -> list[Category]:
    """Every category, by name (the catalog form's choices)."""
    return list(Category.objects.order_by("name"))


def category_slugs_unknown(*, slugs: Iterable[str]) -> list[str]:
    """Those of ``slugs`` no category has, in the order given (one query)."""
    wanted = list(dict.fromkeys(slugs))
    known = set(Category.objects.filter(slug__in=wanted).values_list("slug", flat=True))
    return [slug for slug in wanted if slug not in known]
