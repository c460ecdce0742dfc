"""The catalog's query string, read the same way by the API and the home page.

``?q=&category=&language=&minPrice=&maxPrice=&minSlots=&sort=&page=&pageSize=``. Several
categories or languages may be given (repeated, or comma-separated). Empty values count as absent
(what a GET form sends for a field left blank). Anything else that is not understood is refused
naming its field: an unknown sort, language or category, a price that is not a number.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from articles.selectors import category_slugs_unknown
from purchases.catalog.selectors import CATALOG_DEFAULT_SORT, CatalogQuery

LIST_PARAMS = ("category", "language")
MAX_CATEGORIES = 20
# Every name of ``CATALOG_SORTS``, as the page's sort menu shows it.
SORT_LABELS = {
    "-created": "Newest first",
    "created": "Oldest first",
    "price": "Price: low to high",
    "-price": "Price: high to low",
    "-slotsLeft": "Most slots left",
    "slotsLeft": "Fewest slots left",
}
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def query_values(data: Any) -> dict[str, Any]:
    """A query dict as the serializer takes it: list fields as lists (split on commas), the others
    as their last value; blanks dropped."""
    plain: dict[str, Any] = {}
    for key in data:
        values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
        if key in LIST_PARAMS:
            parts = [part.strip() for value in values for part in str(value).split(",")]
            if kept := [part for part in parts if part]:
                plain[key] = kept
        elif values and str(values[-1]).strip():
            plain[key] = str(values[-1]).strip()
    return plain


class CatalogQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, max_length=100, help_text="Words to find in the title or the text (ignoring case)."
    )
    category = serializers.ListField(
        child=serializers.SlugField(max_length=100),
        required=False,
        max_length=MAX_CATEGORIES,
        help_text="Category slug; repeat it (or separate by commas) for any of several.",
    )
    language = serializers.ListField(
        child=serializers.ChoiceField(choices=[]),
        required=False,
        help_text="ISO 639-1 code (`ARTICLE_LANGUAGES`); repeat it for any of several.",
    )
    minPrice = serializers.DecimalField(  # noqa: N815
        required=False,
        max_digits=10,
        decimal_places=2,
        min_value=0,
        coerce_to_string=False,
        help_text="Lowest backlink price.",
    )
    maxPrice = serializers.DecimalField(  # noqa: N815
        required=False,
        max_digits=10,
        decimal_places=2,
        min_value=0,
        coerce_to_string=False,
        help_text="Highest backlink price.",
    )
    minSlots = serializers.IntegerField(  # noqa: N815
        required=False,
        min_value=1,
        max_value=32767,
        help_text="Only articles with at least this many backlink slots left (1: any free slot).",
    )
    sort = serializers.ChoiceField(
        choices=list(SORT_LABELS.items()),
        required=False,
        default=CATALOG_DEFAULT_SORT,
        help_text="`-created` newest first (default), `created`, `price`, `-price`, `slotsLeft`, `-slotsLeft`.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # From settings at request time, so a changed list needs no restart of this module.
        language = self.fields["language"]
        assert isinstance(language, serializers.ListField)
        assert isinstance(language.child, serializers.ChoiceField)
        language.child.choices = settings.ARTICLE_LANGUAGES

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(query_values(data))

    def validate_category(self, value: list[str]) -> list[str]:
        unknown = category_slugs_unknown(slugs=value)
        if unknown:
            raise serializers.ValidationError(f"No such category: {', '.join(unknown)}.")
        return list(dict.fromkeys(value))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("minPrice"), attrs.get("maxPrice")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"maxPrice": ["Must not be below minPrice."]})
        return attrs

    def catalog_query(self) -> CatalogQuery:
        data = self.validated_data
        return CatalogQuery(
            categories=tuple(data.get("category", ())),
            languages=tuple(dict.fromkeys(data.get("language", ()))),
            min_price=data.get("minPrice"),
            max_price=data.get("maxPrice"),
            min_slots_left=data.get("minSlots"),
            text=data.get("q", ""),
            sort=data["sort"],
        )


def _whole_number(request_value: str | None, *, field: str, default: int) -> int:
    if request_value is None or not request_value.strip():
        return default
    try:
        number = int(request_value)
    except ValueError:
        number = 0
    if number < 1:
        raise serializers.ValidationError({field: ["A whole number from 1 up is required."]})
    return number


class CatalogPagination(PageNumberPagination):
    """``count``, ``next``, ``previous``, ``results``; ``pageSize`` up to 100 (more is cut to 100).

    A page or page size that is not a whole number from 1 is a 400 naming it; a page past the last
    is a 404, as DRF answers.
    """

    page_size = PAGE_SIZE
    page_size_query_param = "pageSize"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        size = _whole_number(request.query_params.get("pageSize"), field="pageSize", default=PAGE_SIZE)
        return min(size, MAX_PAGE_SIZE)

    def get_page_number(self, request: Request, paginator: Paginator) -> int:
        return _whole_number(request.query_params.get("page"), field="page", default=1)
