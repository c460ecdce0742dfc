"""Public catalog API: published articles with price and backlink slots left."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.content import excerpt, render_html
from articles.models import Article
from blogorder.api_errors import ErrorSerializer
from blogorder.errors import NotFound
from purchases.catalog.filters import CatalogPagination, CatalogQuerySerializer
from purchases.catalog.selectors import article_catalog_search, article_get_published


class CategoryOutSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ArticleOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    excerpt = serializers.CharField(help_text="The opening of the published text, without the title.")
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    slotsLeft = serializers.IntegerField()  # noqa: N815
    language = serializers.CharField(help_text="ISO 639-1 code.")
    categories = CategoryOutSerializer(many=True)


class ArticleDetailOutSerializer(ArticleOutSerializer):
    bodyMarkdown = serializers.CharField()  # noqa: N815
    bodyHtml = serializers.CharField()  # noqa: N815


def _article_body(article: Article, *, detail: bool) -> dict[str, object]:
    version = article.published_version
    body_md = version.body_markdown if version else ""
    data: dict[str, object] = {
        "id": article.pk,
        "slug": article.slug,
        "title": article.title,
        "excerpt": excerpt(body_md, limit=240, title=article.title),
        "price": article.backlink_price,
        "currency": article.currency,
        "slotsLeft": getattr(article, "slots_left", 0),
        "language": article.language,
        "categories": [{"slug": c.slug, "name": c.name} for c in article.categories.all()],
    }
    if detail:
        data["bodyMarkdown"] = body_md
        data["bodyHtml"] = render_html(body_md)
    return data


class ArticleListApi(generics.ListAPIView):
    """The catalog: filters, search, sort and pages (``purchases.catalog.filters``)."""

    pagination_class = CatalogPagination
    serializer_class = ArticleOutSerializer

    @extend_schema(
        parameters=[CatalogQuerySerializer],
        responses={
            200: ArticleOutSerializer(many=True),
            400: OpenApiResponse(
                response=ErrorSerializer,
                description="`invalid`: a filter, the sort or the page is not understood; `fields` names it.",
            ),
            404: OpenApiResponse(response=ErrorSerializer, description="`not_found`: a page past the last."),
        },
        auth=[],
        summary="Published articles: filter, search, sort, paginate",
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        params = CatalogQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = self.paginate_queryset(article_catalog_search(query=params.catalog_query()))
        return self.get_paginated_response(
            ArticleOutSerializer([_article_body(a, detail=False) for a in page or []], many=True).data
        )


class ArticleDetailApi(APIView):
    @extend_schema(
        responses={
            200: ArticleDetailOutSerializer,
            404: OpenApiResponse(
                response=ErrorSerializer, description="`not_found`: no published article with this id."
            ),
        },
        auth=[],
        summary="One published article",
    )
    def get(self, request: Request, article_id: int) -> Response:
        article = article_get_published(article_id=article_id)
        if article is None:
            raise NotFound("Article not found.")
        return Response(ArticleDetailOutSerializer(_article_body(article, detail=True)).data)
