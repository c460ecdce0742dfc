"""The article's history in admin: every version with who made it and why, a side-by-side compare of
any two, "restore this version", and unpublishing the article (and publishing it back).

It extends ``articles.admin.ArticleAdmin`` here, in ``purchases``, because the history names the
orders that wrote versions and unpublishing tells the article's orders (``articles`` knows no
orders); ``purchases/admin.py`` registers it in place of the plain one. Thin: the writes are
``articles.services.version_restore`` and ``purchases.services.article_availability``.

URLs, under ``/admin/articles/article/<id>/``: ``versions/`` (the list, with the compare picker),
``compare/?a=<n>&b=<n>`` (version numbers), ``versions/<n>/restore/``, ``unpublish/``,
``publish-back/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from articles.admin import ArticleAdmin
from articles.content import DiffRow, version_diff
from articles.models import Article, ArticleEvent, ArticleVersion
from articles.services import article_edit_refusal, can_publish_articles, version_restore
from purchases.admin import draft_type_label
from purchases.errors import ApplicationError
from purchases.models import Order, OrderDraft
from purchases.services.article_availability import (
    AvailabilityResult,
    article_reinstate,
    article_withdraw,
    orders_to_tell,
)


@dataclass(frozen=True)
class VersionRow:
    """One version as the history lists it: what kind of change, who made it (a staff user, or the
    order and its customer, with the order's admin URL) and why."""

    version: ArticleVersion
    kind: str
    author: str
    order_url: str
    why: str
    live: bool


def _order_url(order: Order) -> str:
    return reverse("admin:purchases_order_change", args=[order.pk])


def _why(version: ArticleVersion, draft: OrderDraft | None) -> str:
    if draft is not None:
        return f"{draft_type_label(version)}, draft {draft.number} of the order"
    taken_down = version.backlink_metadata.get("taken_down_order_id")
    if taken_down and not version.reason:  # versions from before reasons were kept on the version
        return (
            f"link of order {str(taken_down)[:8]} taken down: {version.backlink_metadata.get('reason', '')}"
        )
    return version.reason or "—"


def _kind(version: ArticleVersion, draft: OrderDraft | None) -> str:
    if version.kind == ArticleVersion.Kind.RESTORE and version.restored_from is not None:
        return f"Restore of v{version.restored_from.number}"
    if version.backlink_metadata.get("taken_down_order_id"):
        return "Link take-down"
    return version.get_kind_display()


def version_rows(article: Article) -> list[VersionRow]:
    """Every version of ``article``, newest first, with its author and reason (two queries).

    A staff version made before ``created_by`` was kept names who published it (an edit publishes at once).
    """
    versions = list(
        ArticleVersion.objects.filter(article=article)
        .select_related("created_by", "published_by", "restored_from")
        .order_by("-number")
    )
    drafts = {
        d.version_id: d for d in OrderDraft.objects.filter(version__article=article).select_related("order")
    }
    rows = []
    for version in versions:
        draft = drafts.get(version.pk)
        if draft is not None:
            order = draft.order
            author, url = f"Order {str(order.pk)[:8]} · {order.customer_email}", _order_url(order)
        else:
            staff = version.created_by or version.published_by
            author, url = (staff.get_username() if staff else "—"), ""
        rows.append(
            VersionRow(
                version=version,
                kind=_kind(version, draft),
                author=author,
                order_url=url,
                why=_why(version, draft),
                live=version.pk == article.published_version_id,
            )
        )
    return rows


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required; kept with your name in the article's history.",
    )


class AvailabilityReasonForm(ReasonForm):
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required. Kept with your name in the article's history and on its orders' timelines, "
        "and emailed to the customers whose link is in it.",
    )


class ArticleHistoryAdmin(ArticleAdmin):
    change_form_template = "admin/articles/article/change_form_history.html"

    def get_urls(self) -> list[URLPattern]:
        def view(fn: Any) -> Any:
            return self.admin_site.admin_view(fn)

        own = [
            path("<int:article_id>/versions/", view(self.versions_view), name="articles_article_versions"),
            path("<int:article_id>/compare/", view(self.compare_view), name="articles_article_compare"),
            path(
                "<int:article_id>/versions/<int:number>/restore/",
                view(self.restore_view),
                name="articles_article_restore",
            ),
            path(
                "<int:article_id>/unpublish/",
                view(self.availability_view),
                {"unpublish": True},
                name="articles_article_unpublish",
            ),
            path(
                "<int:article_id>/publish-back/",
                view(self.availability_view),
                {"unpublish": False},
                name="articles_article_publish_back",
            ),
        ]
        return own + super().get_urls()

    # --- helpers ---------------------------------------------------------------------------------

    def _article(self, request: HttpRequest, article_id: int) -> Article:
        article = get_object_or_404(
            Article.objects.select_related("published_version", "unpublished_version"), pk=article_id
        )
        if not self.has_view_permission(request, article):
            raise PermissionDenied
        return article

    def _context(self, request: HttpRequest, article: Article, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": article,
            "article": article,
            "title": title,
            "can_publish": can_publish_articles(request.user),
            **extra,
        }

    def _versions_url(self, article: Article) -> str:
        return reverse("admin:articles_article_versions", args=[article.pk])

    # --- the list ----------------------------------------------------------------------------------

    def versions_view(self, request: HttpRequest, article_id: int) -> HttpResponse:
        article = self._article(request, article_id)
        rows = version_rows(article)
        live = article.published_version or article.unpublished_version
        older = next(
            (r.version.number for r in rows if live is not None and r.version.number < live.number), None
        )
        context = self._context(
            request,
            article,
            f"History of “{article.title}”",
            rows=rows,
            events=ArticleEvent.objects.filter(article=article).select_related("actor", "version"),
            default_a=older or (rows[-1].version.number if rows else None),
            default_b=live.number if live is not None else (rows[0].version.number if rows else None),
        )
        return TemplateResponse(request, "admin/articles/article/versions.html", context)

    # --- compare -----------------------------------------------------------------------------------

    def compare_view(self, request: HttpRequest, article_id: int) -> HttpResponse:
        article = self._article(request, article_id)
        errors: dict[str, str] = {}
        picked: dict[str, ArticleVersion] = {}
        for side in ("a", "b"):
            raw = request.GET.get(side, "")
            number = int(raw) if raw.isdigit() else None
            version = (
                ArticleVersion.objects.filter(article=article, number=number)
                .select_related("created_by")
                .first()
                if number is not None
                else None
            )
            if version is None:
                errors[side] = (
                    f"Version {side.upper()}: pick one of this article's version numbers (got “{raw}”)."
                )
            else:
                picked[side] = version
        context = self._context(
            request,
            article,
            f"Compare versions of “{article.title}”",
            errors=list(errors.values()),
            numbers=list(ArticleVersion.objects.filter(article=article).values_list("number", flat=True)),
        )
        if errors:
            return TemplateResponse(request, "admin/articles/article/compare.html", context, status=400)
        context.update(_comparison(picked["a"], picked["b"], full=request.GET.get("context") == "all"))
        return TemplateResponse(request, "admin/articles/article/compare.html", context)

    # --- restore -----------------------------------------------------------------------------------

    def restore_view(self, request: HttpRequest, article_id: int, number: int) -> HttpResponse:
        article = self._article(request, article_id)
        version = ArticleVersion.objects.filter(article=article, number=number).first()
        if version is None:
            raise Http404("No such version")
        if not can_publish_articles(request.user):
            raise PermissionDenied
        form = ReasonForm(request.POST or None)
        status = 200
        error: ApplicationError | None = None
        if request.method == "POST" and form.is_valid():
            try:
                restored = version_restore(
                    version=version, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ApplicationError as exc:
                error, status = exc, exc.status_code
            else:
                self.message_user(
                    request,
                    f"Version {version.number} restored and published as version {restored.number}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._versions_url(article))
        elif request.method == "POST":
            status = 400
        live = article.published_version
        if error is None and live is not None and request.method == "GET":
            error = article_edit_refusal(article=article, body_markdown=version.body_markdown)
        context = self._context(
            request,
            article,
            f"Restore version {version.number} of “{article.title}”",
            version=version,
            live=live,
            form=form,
            refusal=error,
            missing=getattr(error, "missing", None) or getattr(error, "links", None) or [],
            **(_comparison(live, version) if live is not None else {}),
        )
        return TemplateResponse(request, "admin/articles/article/restore.html", context, status=status)

    # --- unpublish / publish back ------------------------------------------------------------------

    def availability_view(self, request: HttpRequest, article_id: int, unpublish: bool) -> HttpResponse:
        article = self._article(request, article_id)
        if not can_publish_articles(request.user):
            raise PermissionDenied
        form = AvailabilityReasonForm(request.POST or None)
        status = 200
        error = ""
        if request.method == "POST" and form.is_valid():
            service = article_withdraw if unpublish else article_reinstate
            try:
                result: AvailabilityResult = service(
                    article_id=article.pk, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ApplicationError as exc:
                error, status = exc.message, exc.status_code
            else:
                self.message_user(request, result.message, messages.SUCCESS)
                return HttpResponseRedirect(self._versions_url(article))
        elif request.method == "POST":
            status = 400
        version = article.published_version if unpublish else article.unpublished_version
        orders, emailed = (
            orders_to_tell(article=article, body=version.body_markdown) if version else ([], set())
        )
        context = self._context(
            request,
            article,
            f"{'Unpublish' if unpublish else 'Publish back'} “{article.title}”",
            unpublish=unpublish,
            version=version,
            form=form,
            error=error
            or (
                "" if version else f"“{article.title}” is not {'published' if unpublish else 'unpublished'}."
            ),
            orders=[(order, order.pk in emailed) for order in orders],
        )
        return TemplateResponse(request, "admin/articles/article/availability.html", context, status=status)


def _comparison(a: ArticleVersion, b: ArticleVersion, *, full: bool = False) -> dict[str, Any]:
    """The compare table of version ``a`` (left) against ``b`` (right): title and paragraphs, escaped."""
    rows: list[DiffRow] = version_diff(a.body_markdown, b.body_markdown, context=10_000 if full else 2)
    return {
        "a": a,
        "b": b,
        "title_changed": a.title != b.title,
        "diff_rows": rows,
        "identical": a.body_markdown == b.body_markdown and a.title == b.title,
    }


if admin.site.is_registered(Article):
    admin.site.unregister(Article)
admin.site.register(Article, ArticleHistoryAdmin)
