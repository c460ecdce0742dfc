"""Editorial review in Django admin: the order list, the review page, approve & publish, reject.

Thin: every action calls a service in ``purchases.services.review``, which checks permissions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.timesince import timesince

from articles.content import extract_links, normalize_href, render_html
from articles.drafting.article import DEFAULT_WORD_COUNT, count_words
from articles.models import ArticleVersion
from purchases.errors import ApplicationError
from purchases.models import EmailRecord, IllegalTransition, Order, OrderStatus, StripeEvent
from purchases.selectors import order_llm_usage, order_timeline, order_versions, version_diff
from purchases.services.refunds import order_refund
from purchases.services.review import (
    PUBLISH_PERMISSION,
    REFUND_PERMISSION,
    REVIEW_PERMISSION,
    order_approve_and_publish,
    order_reject,
)
from queueing.models import JobRequest

ACTION_ERRORS = (ApplicationError, IllegalTransition)
# Short enough for the order list's column.
KIND_LABELS: dict[str, str] = {Order.Kind.BACKLINK: "Backlink", Order.Kind.ARTICLE: "Article"}


# What each kind of draft is, by backlink_metadata.integration_type (as written by the jobs).
DRAFT_TYPE_LABELS: dict[str, str] = {
    "customer_backlink": "First draft",
    "customer_backlink_regeneration": "Regeneration",
    "customer_backlink_rebase": "Re-run on newer published version",
    "customer_article": "First draft (article)",
    "customer_article_regeneration": "Regeneration (article)",
}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason sent to the customer",
        widget=forms.Textarea(
            attrs={"rows": 4, "cols": 60, "placeholder": "A sentence or two the customer will read"}
        ),
        help_text="Emailed to the customer and kept in the order's timeline.",
    )


@dataclass(frozen=True)
class DraftRow:
    version: ArticleVersion
    type_label: str
    cost: str


def draft_type_label(version: ArticleVersion) -> str:
    """The draft's kind in words; a carried-over draft says so."""
    meta = version.backlink_metadata
    label = DRAFT_TYPE_LABELS.get(str(meta.get("integration_type")), version.get_kind_display())
    return f"{label}, carried over" if meta.get("carried_over_from_version_id") else label


def usd(amount: Decimal) -> str:
    """LLM costs are fractions of a cent: six decimals everywhere they are shown."""
    return f"${amount:.6f}"


def body_word_count(version: ArticleVersion) -> int:
    """Words as the generator's length check counts them: headings included, the ``# title`` line not."""
    first, _, rest = version.body_markdown.lstrip().partition("\n")
    return count_words(rest if first.startswith("# ") else version.body_markdown)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "status",
        "kind_label",
        "article_title",
        "customer_email",
        "amount_with_currency",
        "age",
        "queue_state",
    )
    list_filter = ("status", "kind")
    search_fields = ("id", "customer_email", "target_url", "anchor_text")
    list_select_related = ("article",)
    readonly_fields = tuple(f.name for f in Order._meta.fields if f.name != "token_salt")
    exclude = ("token_salt",)
    actions = ("approve_and_publish", "reject", "refund")
    change_form_template = "admin/purchases/order/review.html"
    fieldsets = (("Order record", {"fields": readonly_fields}),)
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        latest_job = JobRequest.objects.filter(subject_id=OuterRef("pk")).order_by("-run").values("state")[:1]
        return (
            super()
            .get_queryset(request)
            .select_related("article", "current_version")
            .annotate(latest_job_state=Subquery(latest_job))
        )

    @admin.display(description="Order", ordering="id")
    def short_id(self, obj: Order) -> str:
        return str(obj.id)[:8]

    @admin.display(description="Kind", ordering="kind")
    def kind_label(self, obj: Order) -> str:
        return KIND_LABELS.get(obj.kind, obj.get_kind_display())

    @admin.display(description="Article", ordering="article__title")
    def article_title(self, obj: Order) -> str:
        return Truncator(obj.display_title).chars(40)

    @admin.display(description="Amount", ordering="amount")
    def amount_with_currency(self, obj: Order) -> str:
        return f"{obj.amount} {obj.currency.upper()}"

    # Youngest first when sorted ascending.
    @admin.display(description="Age", ordering="-created_at")
    def age(self, obj: Order) -> str:
        return timesince(obj.created_at, timezone.now())

    @admin.display(description="Queue")
    def queue_state(self, obj: Order) -> str:
        return str(getattr(obj, "latest_job_state", None) or "—")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django 6.1 passes ``action_location``; Django 5.2 does not know it.
        location_args = () if action_location is None else (action_location,)
        actions = super().get_actions(request, *location_args)
        if not request.user.has_perm(PUBLISH_PERMISSION):
            actions.pop("approve_and_publish", None)
        if not request.user.has_perm(REFUND_PERMISSION):
            actions.pop("refund", None)
        return actions

    # --- actions -----------------------------------------------------------------------------

    @admin.action(description="Approve & publish")
    def approve_and_publish(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            self._publish_one(request, order.pk)

    @admin.action(description="Reject (asks for a reason)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        return self._with_reason(request, queryset, "reject", "Reject orders", self._reject_one)

    @admin.action(description="Refund in full (asks for a reason)")
    def refund(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        return self._with_reason(request, queryset, "refund", "Refund orders in full", self._refund_one)

    def _with_reason(
        self, request: HttpRequest, queryset: QuerySet[Order], action: str, title: str, apply: Any
    ) -> HttpResponse | None:
        """A bulk action that first asks for a reason on an intermediate page."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for order in queryset:
                apply(request, order.pk, form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "action": action,
            "orders": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/purchases/order/reason_confirmation.html", context)

    def _refund_one(self, request: HttpRequest, order_id: Any, reason: str) -> None:
        try:
            order = order_refund(order_id=order_id, actor=request.user, reason=reason)
        except ACTION_ERRORS as exc:
            self.message_user(request, f"Order {order_id}: {exc}", messages.ERROR)
            return
        self.message_user(
            request,
            f"Order {order_id}: refunded {order.refunded_amount} {order.currency.upper()}; customer emailed.",
        )

    def _publish_one(self, request: HttpRequest, order_id: Any) -> None:
        try:
            result = order_approve_and_publish(order_id=order_id, actor=request.user)
        except ACTION_ERRORS as exc:
            self.message_user(request, f"Order {order_id}: {exc}", messages.ERROR)
            return
        level = messages.WARNING if result.outcome == "rebased" else messages.SUCCESS
        self.message_user(request, f"Order {order_id}: {result.message}", level)

    def _reject_one(self, request: HttpRequest, order_id: Any, reason: str) -> None:
        try:
            order_reject(order_id=order_id, actor=request.user, reason=reason)
        except ACTION_ERRORS as exc:
            self.message_user(request, f"Order {order_id}: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Order {order_id}: rejected; the customer was emailed the reason.")

    # --- the review page -----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<uuid:order_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="purchases_order_publish",
            ),
            path(
                "<uuid:order_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="purchases_order_reject",
            ),
            path(
                "<uuid:order_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="purchases_order_refund",
            ),
        ]
        return own + super().get_urls()

    def publish_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        if request.method == "POST":
            self._publish_one(request, order_id)
        return HttpResponseRedirect(reverse("admin:purchases_order_change", args=[order_id]))

    def reject_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        return self._reason_view(request, order_id, "Reject order", self._reject_one)

    def refund_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        return self._reason_view(request, order_id, "Refund order in full", self._refund_one)

    def _reason_view(self, request: HttpRequest, order_id: Any, title: str, apply: Any) -> HttpResponse:
        order = get_object_or_404(Order, pk=order_id)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            apply(request, order.pk, form.cleaned_data["reason"])
            return HttpResponseRedirect(reverse("admin:purchases_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "orders": [order],
            "form": form,
            "opts": self.model._meta,
            "single": True,
        }
        return render(request, "admin/purchases/order/reason_confirmation.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        order = self.get_object(request, object_id)
        # Every field is read-only: the page acts only through the review panel's own forms.
        context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        if order is not None:
            context.update(self._review_context(request, order))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def _review_context(self, request: HttpRequest, order: Order) -> dict[str, Any]:
        proposal = order.current_version
        base = proposal.base_version if proposal else None
        live = order.article.published_version if order.article else None
        links = [link for link in extract_links(proposal.body_markdown) if link.rel] if proposal else []
        usage = order_llm_usage(order)
        is_article = order.kind == Order.Kind.ARTICLE
        return {
            "is_article": is_article,
            "brief": _article_brief(order, proposal) if is_article else None,
            "proposal": proposal,
            "proposal_label": draft_type_label(proposal) if proposal else "",
            "proposal_html": render_html(proposal.body_markdown) if proposal else "",
            "base": base,
            "base_html": render_html(base.body_markdown) if base else "",
            "diff_rows": version_diff(base.body_markdown, proposal.body_markdown)
            if proposal and base
            else [],
            "stale_base": bool(
                base and live and base.pk != live.pk and order.status == OrderStatus.ADMIN_REVIEW
            ),
            "live": live,
            "paid_links": [link for link in links if link.href == _href(order)],
            "qc_report": proposal.qc_report if proposal else {},
            "drafts": [
                DraftRow(v, draft_type_label(v), usd(v.estimated_cost_usd)) for v in order_versions(order)
            ],
            "usage": usage,
            "total_cost": usd(usage["estimated_cost_usd"]),
            "timeline": order_timeline(order),
            "can_publish": order.status == OrderStatus.ADMIN_REVIEW
            and request.user.has_perm(PUBLISH_PERMISSION),
            "can_reject": order.status == OrderStatus.ADMIN_REVIEW
            and request.user.has_perm(REVIEW_PERMISSION),
            "can_refund": order.is_paid
            and order.status != OrderStatus.REFUNDED
            and request.user.has_perm(REFUND_PERMISSION),
            "reject_form": ReasonForm(),
        }


def _href(order: Order) -> str:
    return normalize_href(order.target_url)


def _article_brief(order: Order, proposal: ArticleVersion | None) -> dict[str, Any]:
    """A new-article order's brief beside what the current draft delivers."""
    limits = proposal.qc_report.get("limits", {}) if proposal else {}
    return {
        "topic": order.topic,
        "keywords": order.keywords,
        "requested_words": order.word_count or DEFAULT_WORD_COUNT,
        "min_words": limits.get("min_words"),
        "max_words": limits.get("max_words"),
        "draft_words": body_word_count(proposal) if proposal else None,
    }


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "type", "event_id", "order", "outcome")
    list_filter = ("type", "outcome")
    search_fields = ("event_id", "object_id", "order__id")


@admin.register(EmailRecord)
class EmailRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "to", "order", "sent_at", "error")
    list_filter = ("kind",)
    search_fields = ("to", "order__id")
