"""Editorial review in Django admin: the order list, the review page and the staff actions.

Thin: the bulk actions, the review page's buttons and their URLs come from the staff actions in
``purchases.actions`` (accept or decline a target, approve & publish, reject, retry, refund); each runs through
``OrderAction.execute``, whose service checks the permission and the order under its row lock.
"""

from __future__ import annotations

from collections.abc import Callable
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

from articles.content import extract_links, normalize_href, render_html, version_diff
from articles.drafting.article import DEFAULT_WORD_COUNT, count_words
from articles.models import ArticleVersion
from purchases.actions import (
    ACCEPT_TARGET,
    CANCEL_SCHEDULE,
    DECLINE_TARGET,
    MOVE_SCHEDULE,
    PUBLISH,
    REFUND,
    REJECT,
    RETRY,
    SCHEDULE_PUBLISH,
    STAFF_ACTIONS,
    TAKE_DOWN_LINK,
    OrderAction,
)
from purchases.actions.staff import order_links_in
from purchases.errors import ApplicationError
from purchases.models import (
    EmailRecord,
    IllegalTransition,
    Order,
    OrderDraft,
    OrderLookup,
    OrderMessage,
    StripeEvent,
)
from purchases.selectors import (
    order_llm_usage,
    order_message_author,
    order_message_thread,
    order_timeline,
    order_versions,
)
from purchases.services.messages import order_message_post
from purchases.status_messages import publish_time_text
from queueing.models import JobRequest

ACTION_ERRORS = (ApplicationError, IllegalTransition)
# The review page's own URL for each staff action: /admin/purchases/order/<id>/<path>/.
REVIEW_PATHS: tuple[tuple[str, OrderAction], ...] = (
    ("accept-target", ACCEPT_TARGET),
    ("decline-target", DECLINE_TARGET),
    ("publish", PUBLISH),
    ("schedule", SCHEDULE_PUBLISH),
    ("move-schedule", MOVE_SCHEDULE),
    ("cancel-schedule", CANCEL_SCHEDULE),
    ("reject", REJECT),
    ("retry", RETRY),
    ("refund", REFUND),
    ("take-down-link", TAKE_DOWN_LINK),
)
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


class TakeDownReasonForm(ReasonForm):
    reason = forms.CharField(
        label="Why the link goes",
        widget=forms.Textarea(
            attrs={"rows": 4, "cols": 60, "placeholder": "e.g. refunded at the customer's request"}
        ),
        help_text="Kept in the order's timeline and on the new article version; the customer is not emailed.",
    )


class RetryReasonForm(ReasonForm):
    reason = forms.CharField(
        label="Why try again",
        widget=forms.Textarea(
            attrs={"rows": 3, "cols": 60, "placeholder": "e.g. the writing service is back after its outage"}
        ),
        help_text="Kept with your name in the order's timeline; the customer is emailed when the new draft is ready.",
    )


class DeclineReasonForm(ReasonForm):
    reason = forms.CharField(
        label="Why the target is declined",
        widget=forms.Textarea(
            attrs={"rows": 3, "cols": 60, "placeholder": "e.g. we do not link to gambling sites"}
        ),
        help_text="Emailed to the customer with their full refund, and kept with your name in the timeline.",
    )


# The reason form of each staff action that needs one; by default the one emailed to the customer.
REASON_FORMS: dict[str, type[ReasonForm]] = {
    DECLINE_TARGET.name: DeclineReasonForm,
    TAKE_DOWN_LINK.name: TakeDownReasonForm,
    RETRY.name: RetryReasonForm,
}


class ScheduleForm(forms.Form):
    """A publishing time, typed in the site's time zone (Django makes it aware in the current zone);
    the service checks it is in the future and within ``SCHEDULE_MAX_DAYS``."""

    publish_at = forms.DateTimeField(
        label="Publish on",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "publish_at"
        ].help_text = f"Date and time in the site's time zone, {timezone.get_current_timezone_name()}."


def reason_form(action: OrderAction, data: Any = None) -> ReasonForm:
    return REASON_FORMS.get(action.name, ReasonForm)(data)


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message to the customer",
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 4, "cols": 60, "placeholder": "Plain text the customer will read"}
        ),
        help_text="Plain text; emailed to the customer (several within minutes go in one email).",
    )
    request_changes = forms.BooleanField(
        label="Request changes (reject the draft with this message as the reason)",
        required=False,
        help_text="The same as Reject: the order returns to the customer, who is emailed this message once.",
    )


@dataclass(frozen=True)
class ActionButton:
    """A staff action on the review page: ``available`` to this user now, or offered by the order
    to someone with the permission this user lacks (``needs_permission``)."""

    available: bool
    needs_permission: bool


def action_buttons(order: Order, user: Any) -> dict[str, ActionButton]:
    return {
        action.name: ActionButton(
            available=action.is_available(order, user),
            needs_permission=action.is_offered(order) and not action.has_permission(user),
        )
        for action in STAFF_ACTIONS
    }


BulkAction = Callable[["OrderAdmin", HttpRequest, QuerySet[Order]], HttpResponse | None]


def bulk_action(action: OrderAction) -> BulkAction:
    """The order list's bulk action for a staff action, named after it; asks for a reason first if it needs one."""

    def run(modeladmin: OrderAdmin, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        return modeladmin.run_in_bulk(request, queryset, action)

    run.__name__ = action.name
    description = f"{action.label} (asks for a reason)" if action.needs_reason else action.label
    return admin.action(description=description)(run)


@dataclass(frozen=True)
class DraftRow:
    version: ArticleVersion
    name: str
    type_label: str
    cost: str


def draft_type_label(version: ArticleVersion) -> str:
    """The draft's kind in words; a carried-over draft says so."""
    meta = version.backlink_metadata
    label = DRAFT_TYPE_LABELS.get(str(meta.get("integration_type")), version.get_kind_display())
    return f"{label}, carried over" if meta.get("carried_over_from_version_id") else label


def draft_name(version: ArticleVersion) -> str:
    """The draft as everyone names it, "Draft n (article vN)": the order's number, then the version's."""
    draft = getattr(version, "order_draft", None)
    article_version = f"article v{version.number}"
    return f"Draft {draft.number} ({article_version})" if draft is not None else article_version


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
    list_filter = ("status", "kind", "needs_approval")
    search_fields = ("id", "customer_email", "target_url", "anchor_text")
    list_select_related = ("article",)
    # A boolean reads as words: the admin's yes/no icon would be the review page's only <img>.
    readonly_fields = tuple(
        {"needs_approval": "needs_approval_words"}.get(f.name, f.name)
        for f in Order._meta.fields
        if f.name != "token_salt"
    )
    exclude = ("token_salt",)
    # Scheduling asks for a date and time on the review page, never in bulk.
    actions = tuple(bulk_action(action) for action in STAFF_ACTIONS if not action.needs_when)
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

    @admin.display(description="Needs approval")
    def needs_approval_words(self, obj: Order) -> str:
        return "Yes: paid, it waits for staff to accept its target" if obj.needs_approval else "No"

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
        for action in STAFF_ACTIONS:
            if not action.has_permission(request.user):
                actions.pop(action.name, None)
        return actions

    # --- actions -----------------------------------------------------------------------------

    def run_in_bulk(
        self, request: HttpRequest, queryset: QuerySet[Order], action: OrderAction
    ) -> HttpResponse | None:
        """Run ``action`` on each selected order; one that needs a reason asks for it on a page first."""
        if not action.needs_reason:
            for order in queryset:
                self._run_one(request, action, order.pk)
            return None
        form = reason_form(action, request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for order in queryset:
                self._run_one(request, action, order.pk, reason=form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": action.label,
            "action": action,
            "orders": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/purchases/order/reason_confirmation.html", context)

    def _run_one(self, request: HttpRequest, action: OrderAction, order_id: Any, **options: Any) -> None:
        try:
            result = action.execute(order_id=order_id, actor=request.user, **options)
        except ACTION_ERRORS as exc:
            self.message_user(request, f"Order {order_id}: {exc}", messages.ERROR)
            return
        done = action.done(result)
        level = messages.WARNING if done.warning else messages.SUCCESS
        self.message_user(request, f"Order {order_id}: {done.message}", level)

    # --- the review page -----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                f"<uuid:order_id>/{route}/",
                self.admin_site.admin_view(self.action_view),
                {"action": action},
                name=f"purchases_order_{route}",
            )
            for route, action in REVIEW_PATHS
        ]
        own.append(
            path(
                "<uuid:order_id>/message/",
                self.admin_site.admin_view(self.message_view),
                name="purchases_order_message",
            )
        )
        return own + super().get_urls()

    def message_view(self, request: HttpRequest, order_id: Any) -> HttpResponse:
        """The review page's message form: POST writes to the customer (``order_message_post``),
        rejecting the draft too when "request changes" is ticked."""
        back = HttpResponseRedirect(reverse("admin:purchases_order_change", args=[order_id]) + "#messages")
        if request.method != "POST":
            return back
        get_object_or_404(Order, pk=order_id)
        form = MessageForm(request.POST)
        if not form.is_valid():
            errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
            self.message_user(request, f"Message not sent: {errors}", messages.ERROR)
            return back
        try:
            order_message_post(
                order_id=order_id,
                side=OrderMessage.Side.STAFF,
                body=form.cleaned_data["body"],
                actor=request.user,
                request_changes=form.cleaned_data["request_changes"],
            )
        except ACTION_ERRORS as exc:
            self.message_user(request, f"Message not sent: {exc}", messages.ERROR)
            return back
        if form.cleaned_data["request_changes"]:
            self.message_user(request, REJECT.done(None).message.capitalize(), messages.SUCCESS)
        else:
            self.message_user(request, "Message sent; the customer is emailed it.", messages.SUCCESS)
        return back

    def action_view(self, request: HttpRequest, order_id: Any, action: OrderAction) -> HttpResponse:
        """The review page's button for ``action``: POST runs it (after a reason page if it needs one)."""
        back = HttpResponseRedirect(reverse("admin:purchases_order_change", args=[order_id]))
        if action.needs_when:
            if request.method == "POST":
                when = ScheduleForm(request.POST)
                if when.is_valid():
                    self._run_one(request, action, order_id, publish_at=when.cleaned_data["publish_at"])
                else:
                    errors = " ".join(str(e) for e in when.errors.get("publish_at", []))
                    self.message_user(request, f"Order {order_id}: {action.label}: {errors}", messages.ERROR)
            return back
        if not action.needs_reason:
            if request.method == "POST":
                self._run_one(request, action, order_id)
            return back
        order = get_object_or_404(Order, pk=order_id)
        form = reason_form(action, request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._run_one(request, action, order.pk, reason=form.cleaned_data["reason"])
            return back
        context = {
            **self.admin_site.each_context(request),
            "title": action.label,
            "action": action,
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
        buttons = action_buttons(order, request.user)
        return {
            "is_article": is_article,
            "brief": _article_brief(order, proposal) if is_article else None,
            "proposal": proposal,
            "proposal_name": draft_name(proposal) if proposal else "",
            "proposal_label": draft_type_label(proposal) if proposal else "",
            "proposal_html": render_html(proposal.body_markdown) if proposal else "",
            "base": base,
            "base_html": render_html(base.body_markdown) if base else "",
            "diff_rows": version_diff(base.body_markdown, proposal.body_markdown)
            if proposal and base
            else [],
            "stale_base": bool(base and live and base.pk != live.pk and PUBLISH.is_offered(order)),
            "live": live,
            "paid_links": [link for link in links if link.href == _href(order)],
            "qc_report": proposal.qc_report if proposal else {},
            "drafts": [
                DraftRow(v, draft_name(v), draft_type_label(v), usd(v.estimated_cost_usd))
                for v in order_versions(order)
            ],
            "usage": usage,
            "total_cost": usd(usage["estimated_cost_usd"]),
            "timeline": order_timeline(order),
            "thread": [(order_message_author(m, for_staff=True), m) for m in order_message_thread(order)],
            "message_form": MessageForm(),
            "can_write": REJECT.has_permission(request.user),
            "staff": buttons,
            "staff_panel": any(b.available or b.needs_permission for b in buttons.values()),
            "reject_form": ReasonForm(),
            "decline_form": DeclineReasonForm(),
            "schedule_form": ScheduleForm(),
            "publish_time": publish_time_text(order.publish_at) if order.publish_at else "",
            # The take-down button shows only while the order's link is in the published text.
            "link_live": bool(live and order_links_in(live.body_markdown, order)),
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


@admin.register(OrderLookup)
class OrderLookupAdmin(ReadOnlyAdmin):
    """Requests for the link to all of an address's orders, and what the job did (sent, no orders, failed)."""

    list_display = ("created_at", "email", "outcome", "orders_found", "sent_at", "client_ip")
    list_filter = ("outcome",)
    search_fields = ("email",)


@admin.register(OrderDraft)
class OrderDraftAdmin(ReadOnlyAdmin):
    """Which order (and job run) wrote which article version: the order's side of the link."""

    list_display = ("created_at", "draft", "version", "order", "run")
    list_select_related = ("version__article", "order__article")
    search_fields = ("order__id", "version__article__title", "order__customer_email")

    @admin.display(description="Draft", ordering="number")
    def draft(self, obj: OrderDraft) -> str:
        return f"Draft {obj.number} (article v{obj.version.number})"


# The article admin with its history, compare, restore and unpublish pages replaces the plain one
# (it names orders, so it lives here); imported last, as it uses this module's draft labels.
import purchases.article_admin  # noqa: E402,F401
