"""Public pages of the shop window: the article list and each article, with what can be bought in it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from articles.content import excerpt, render_html
from purchases.catalog.selectors import article_catalog, article_get_published, sample_link_preview


def article_index(request: HttpRequest) -> HttpResponse:
    articles = list(article_catalog())
    for article in articles:
        body = article.published_version.body_markdown if article.published_version else ""
        article.excerpt = excerpt(body, limit=220, title=article.title)  # type: ignore[attr-defined]
    return render(request, "articles/index.html", {"articles": articles})


def article_page(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_get_published(slug=slug)
    if article is None or article.published_version is None:
        raise Http404("No such article")
    return render(
        request,
        "articles/article.html",
        {
            "article": article,
            "body_html": render_html(article.published_version.body_markdown),
            "link_preview": sample_link_preview(),
        },
    )
