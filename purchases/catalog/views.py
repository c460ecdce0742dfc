"""Public pages of the shop window: the article list and each article, with what can be bought in it."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from articles.content import excerpt, render_html
from articles.selectors import category_list
from purchases.catalog.filters import PAGE_SIZE, SORT_LABELS, CatalogQuerySerializer, query_values
from purchases.catalog.selectors import (
    CATALOG_DEFAULT_SORT,
    article_catalog_search,
    article_get_published,
    article_get_unpublished,
)


def article_index(request: HttpRequest) -> HttpResponse:
    """The catalog as a GET form (no JavaScript needed): the API's filters, search, sort and pages.

    Filters that are not understood are shown with their message (status 400) instead of results.
    """
    params = CatalogQuerySerializer(data=request.GET)
    page = None
    if params.is_valid():
        found = article_catalog_search(query=params.catalog_query())
        page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        for article in page:
            body = article.published_version.body_markdown if article.published_version else ""
            article.excerpt = excerpt(body, limit=220, title=article.title)  # type: ignore[attr-defined]
    chosen = query_values(request.GET)
    chosen.setdefault("sort", CATALOG_DEFAULT_SORT)
    kept = request.GET.copy()
    kept.pop("page", None)
    context = {
        "page": page,
        "errors": {name: " ".join(str(m) for m in msgs) for name, msgs in params.errors.items()},
        "chosen": chosen,
        "categories": category_list(),
        "languages": settings.ARTICLE_LANGUAGES,
        "sorts": SORT_LABELS.items(),
        "filtered": any(key != "sort" for key in chosen) or chosen["sort"] != CATALOG_DEFAULT_SORT,
        "query_without_page": kept.urlencode(),
    }
    return render(request, "articles/index.html", context, status=200 if page is not None else 400)


def article_page(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_get_published(slug=slug)
    if article is None or article.published_version is None:
        withdrawn = article_get_unpublished(slug=slug)
        if withdrawn is not None:  # taken off the site by staff: gone, not "never was"
            return render(request, "articles/unpublished.html", {"article": withdrawn}, status=410)
        raise Http404("No such article")
    return render(
        request,
        "articles/article.html",
        {"article": article, "body_html": render_html(article.published_version.body_markdown)},
    )
