"""Articles and their version history for editors. Saving the text publishes a new version.

A version written for an order is listed on that order's review page (purchases admin), with the
order's total model usage; this app knows nothing of orders.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from articles.models import Article, ArticleVersion
from articles.services import (
    PublishWouldDropPaidLink,
    article_create,
    article_edit_publish,
    paid_links_missing,
)


class VersionInline(admin.TabularInline):
    model = ArticleVersion
    fk_name = "article"
    extra = 0
    can_delete = False
    fields = (
        "number",
        "kind",
        "title",
        "llm_model",
        "prompt_tokens",
        "completion_tokens",
        "estimated_cost_usd",
        "created_at",
        "published_at",
        "published_by",
    )
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArticleVersion]:
        return super().get_queryset(request).select_related("published_by")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ArticleForm(forms.ModelForm):
    body_markdown = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100}),
        help_text="Saving publishes this text as a new version. Paid links that are live "
        '([anchor](<url>){rel="sponsored"}) cannot be removed.',
    )

    class Meta:
        model = Article
        fields = ("title", "slug", "backlink_price", "currency", "max_backlinks")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        live = self.instance.published_version if self.instance.pk else None
        if live is not None:
            self.fields["body_markdown"].initial = live.body_markdown
        elif self.instance.pk:
            # An unpublished (generated) article goes live only through its order's review.
            self.fields["body_markdown"].required = False
            self.fields["body_markdown"].disabled = True
            self.fields["body_markdown"].help_text = (
                "Not published: this article's text comes from its order's drafts and is published "
                "from the order's review page."
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        live = self.instance.published_version if self.instance.pk else None
        body = cleaned.get("body_markdown")
        if live is not None and body is not None:
            missing = paid_links_missing(live_body=live.body_markdown, new_body=body)
            if missing:
                self.add_error("body_markdown", str(PublishWouldDropPaidLink(missing)))
        return cleaned


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    list_display = (
        "title",
        "slug",
        "published_version",
        "backlink_price",
        "currency",
        "max_backlinks",
        "created_at",
    )
    search_fields = ("title", "slug")
    # The published version's name reads its article's title.
    list_select_related = ("published_version__article",)
    inlines = (VersionInline,)

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        body = form.cleaned_data["body_markdown"]
        if change and obj.published_version_id is None:
            obj.save(
                update_fields=["title", "slug", "backlink_price", "currency", "max_backlinks", "updated_at"]
            )
            return
        if not change:
            created = article_create(
                title=obj.title,
                slug=obj.slug,
                body_markdown=body,
                backlink_price=obj.backlink_price,
                currency=obj.currency,
                max_backlinks=obj.max_backlinks,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        obj.save(update_fields=["slug", "backlink_price", "currency", "max_backlinks", "updated_at"])
        live = obj.published_version
        if live is None or live.body_markdown != body or live.title != obj.title:
            article_edit_publish(article=obj, title=obj.title, body_markdown=body, actor=request.user)


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin):
    list_display = (
        "article",
        "number",
        "kind",
        "llm_model",
        "prompt_tokens",
        "completion_tokens",
        "estimated_cost_usd",
        "created_at",
        "published_at",
    )
    list_filter = ("kind",)
    list_select_related = ("article",)
    search_fields = ("article__title",)
    readonly_fields = tuple(f.name for f in ArticleVersion._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
