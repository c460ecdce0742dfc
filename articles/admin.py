"""Articles and their version history for editors."""

from __future__ import annotations

from django.contrib import admin

from articles.models import Article, ArticleVersion
from purchases.selectors import order_llm_usage


class VersionInline(admin.TabularInline):
    model = ArticleVersion
    fk_name = "article"
    extra = 0
    can_delete = False
    fields = (
        "number",
        "kind",
        "title",
        "order",
        "llm_model",
        "prompt_tokens",
        "completion_tokens",
        "estimated_cost_usd",
        "created_at",
    )
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "slug",
        "published_version",
        "backlink_price",
        "currency",
        "max_backlinks",
        "created_at",
    ]
    search_fields = ["title", "slug"]
    readonly_fields = ["published_version", "created_at", "updated_at"]
    inlines = [VersionInline]


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin):
    list_display = [
        "article",
        "number",
        "kind",
        "order",
        "llm_model",
        "prompt_tokens",
        "completion_tokens",
        "estimated_cost_usd",
        "created_at",
    ]
    list_filter = ["kind"]
    search_fields = ["article__title", "order__id"]
    readonly_fields = [*(f.name for f in ArticleVersion._meta.fields), "order_llm_usage_total"]

    @admin.display(description="LLM usage of the whole order")
    def order_llm_usage_total(self, obj: ArticleVersion) -> str:
        if obj.order is None:
            return "–"
        usage = order_llm_usage(obj.order)
        return (
            f"{usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion tokens, "
            f"≈ ${usage['estimated_cost_usd']:.6f} (all its versions)"
        )
