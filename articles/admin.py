"""Articles and their version history for editors. Saving the text publishes a new version.

A version written for an order is listed on that order's review page (purchases admin), with the
order's total model usage; this app knows nothing of orders.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from articles.models import Article, ArticleVersion, Category
from articles.services import (
    article_create,
    article_edit_publish,
    article_edit_refusal,
    can_publish_articles,
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
        "created_by",
        "reason",
        "published_at",
        "published_by",
    )
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArticleVersion]:
        return super().get_queryset(request).select_related("published_by", "created_by")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ArticleForm(forms.ModelForm):
    """The article and its published text. Title and text publish, so they need the publish
    permission; without it they are shown read-only and a posted change is refused."""

    body_markdown = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 30, "cols": 100}),
        help_text="Saving publishes this text as a new version. Links that published orders paid for "
        '([anchor](<url>){rel="sponsored"}) cannot be removed, and no other link may carry a rel: '
        "a link is paid only when an order says so.",
    )
    change_reason = forms.CharField(
        label="Why this change",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 100}),
        help_text="Optional; kept with your name on the new version in the article's history.",
    )
    # Set per request by ``ArticleAdmin.get_form``.
    can_publish: bool = False

    class Meta:
        model = Article
        fields = (
            "title",
            "slug",
            "language",
            "categories",
            "backlink_price",
            "currency",
            "max_backlinks",
            "needs_approval",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        live = self.instance.published_version if self.instance.pk else None
        if live is not None:
            self.fields["body_markdown"].initial = live.body_markdown
        elif self.instance.pk and self.instance.is_unpublished:
            self.fields["body_markdown"].initial = self.instance.unpublished_version.body_markdown
            self.fields["body_markdown"].required = False
            self.fields["body_markdown"].disabled = True
            self.fields[
                "body_markdown"
            ].help_text = "Unpublished: publish the article back (from its history) before changing its text."
            self.fields["title"].disabled = True
        elif self.instance.pk:
            # An unpublished (generated) article goes live only through its order's review.
            self.fields["body_markdown"].required = False
            self.fields["body_markdown"].disabled = True
            self.fields["body_markdown"].help_text = (
                "Not published: this article's text comes from its order's drafts and is published "
                "from the order's review page."
            )
        if not self.can_publish and self.instance.pk:
            for name in (*PUBLISHED_FIELDS, "change_reason"):
                self.fields[name].disabled = True
            self.fields["body_markdown"].help_text = (
                "Read-only: changing the published title or text needs the “Can publish articles” "
                "permission. You can still change the price and the slots."
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.can_publish:
            # Disabled fields ignore what is posted; say so rather than drop a change silently.
            changed = [name for name in PUBLISHED_FIELDS if self._posted_change(name)]
            if changed:
                raise forms.ValidationError(
                    "You do not have permission to publish articles, so the title and text were not changed.",
                    code="permission_denied",
                )
            return cleaned
        body = cleaned.get("body_markdown")
        if body is not None and (self.instance.pk is None or self.instance.published_version_id):
            refusal = article_edit_refusal(
                article=self.instance if self.instance.pk else None, body_markdown=body
            )
            if refusal is not None:
                self.add_error("body_markdown", refusal.message)
        return cleaned

    def _posted_change(self, name: str) -> bool:
        posted = self.data.get(self.add_prefix(name))
        if posted is None:
            return False
        initial = self.get_initial_for_field(self.fields[name], name) or ""
        return str(posted).replace("\r\n", "\n").strip() != str(initial).replace("\r\n", "\n").strip()


# Fields whose change publishes a new version.
PUBLISHED_FIELDS = ("title", "body_markdown")


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
        "language",
        "needs_approval",
        "created_at",
    )
    list_filter = ("language", "categories", "needs_approval")
    filter_horizontal = ("categories",)
    search_fields = ("title", "slug")
    # The published version's name reads its article's title.
    list_select_related = ("published_version__article",)
    inlines = (VersionInline,)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # ``get_form`` builds a new class per request, so this is this user's answer only.
        return type(form.__name__, (form,), {"can_publish": can_publish_articles(request.user)})

    def has_add_permission(self, request: HttpRequest) -> bool:
        """A new article is published at once, so adding one needs the publish permission too."""
        return super().has_add_permission(request) and can_publish_articles(request.user)

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        # Categories are saved by ``save_related`` (the form's many-to-many), in every branch.
        commercial = [
            "slug",
            "language",
            "backlink_price",
            "currency",
            "max_backlinks",
            "needs_approval",
            "updated_at",
        ]
        if change and (obj.published_version_id is None or not form.can_publish):
            retitle = obj.published_version_id is None and not obj.is_unpublished
            obj.save(update_fields=[*commercial, *(["title"] if retitle else [])])
            return
        body = form.cleaned_data["body_markdown"]
        if not change:
            created = article_create(
                title=obj.title,
                slug=obj.slug,
                body_markdown=body,
                backlink_price=obj.backlink_price,
                currency=obj.currency,
                max_backlinks=obj.max_backlinks,
                language=obj.language,
                needs_approval=obj.needs_approval,
                actor=request.user,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        obj.save(update_fields=commercial)
        live = obj.published_version
        if live is None or live.body_markdown != body or live.title != obj.title:
            article_edit_publish(
                article=obj,
                title=obj.title,
                body_markdown=body,
                actor=request.user,
                reason=form.cleaned_data.get("change_reason") or "",
            )


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "article_count")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(article_count=Count("articles"))

    @admin.display(description="Articles", ordering="article_count")
    def article_count(self, obj: Category) -> int:
        return int(getattr(obj, "article_count", 0))


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
