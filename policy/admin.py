"""The link policy in admin: blocked domains, niches (with the articles refusing each), and the
inline of the niches an article refuses.

The article admin lives in ``articles``, which knows nothing of the policy; the article admin that
is registered (``purchases.article_admin.ArticleHistoryAdmin``, the top layer) adds
``ArticleRefusalInline`` (``articles`` never imports ``policy``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from policy.models import ArticleNicheRefusal, BlockedDomain, Niche


@admin.register(BlockedDomain)
class BlockedDomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "note", "created_at")
    search_fields = ("domain", "note")


class NicheRefusalInline(admin.TabularInline):
    """On a niche: the articles that refuse it."""

    model = ArticleNicheRefusal
    extra = 0
    autocomplete_fields = ("article",)
    fields = ("article", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Niche)
class NicheAdmin(admin.ModelAdmin):
    list_display = ("name", "rule_display", "needs_approval", "active", "keyword_count", "updated_at")
    list_filter = ("rule", "active", "needs_approval")
    search_fields = ("name", "keywords")
    inlines = [NicheRefusalInline]
    fieldsets = (
        (None, {"fields": ("name", "active", "keywords")}),
        ("Rule", {"fields": ("rule", "surcharge_percent", "surcharge_amount", "needs_approval")}),
    )

    @admin.display(description="Rule", ordering="rule")
    def rule_display(self, obj: Niche) -> str:
        return obj.rule_words()

    @admin.display(description="Keywords")
    def keyword_count(self, obj: Niche) -> int:
        return len(obj.keyword_list)


class AdditiveInlineFormSet(BaseInlineFormSet):
    """An inline that a POST may leave out: then it changes nothing.

    The article admin is the ``articles`` app's; a form posted without this inline's rows (a page
    rendered before the policy app, a script) would otherwise fail on the missing management form.
    """

    def __init__(self, data: Any = None, files: Any = None, **kwargs: Any) -> None:
        name = kwargs.get("prefix") or self.get_default_prefix()
        if data is not None and f"{name}-TOTAL_FORMS" not in data:
            data = data.copy()
            data[f"{name}-TOTAL_FORMS"] = data[f"{name}-INITIAL_FORMS"] = "0"
        super().__init__(data, files, **kwargs)


class ArticleRefusalInline(admin.TabularInline):
    """On an article: the niches it refuses, whatever their own rule."""

    model = ArticleNicheRefusal
    formset = AdditiveInlineFormSet
    fk_name = "article"
    extra = 0
    fields = ("niche", "created_at")
    readonly_fields = ("created_at",)
    verbose_name = "refused niche"
    verbose_name_plural = "Niches this article refuses"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArticleNicheRefusal]:
        return super().get_queryset(request).select_related("niche")
