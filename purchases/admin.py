"""Staff view of orders: status, queue job, versions, transitions, Stripe events and emails."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince

from purchases.models import EmailRecord, Order, OrderTransition, StripeEvent


class TransitionInline(admin.TabularInline):
    model = OrderTransition
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "from_status", "to_status", "source", "actor", "reason")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EmailInline(admin.TabularInline):
    model = EmailRecord
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "kind", "key", "to", "subject", "sent_at", "error")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class StripeEventInline(admin.TabularInline):
    model = StripeEvent
    extra = 0
    can_delete = False
    readonly_fields = ("received_at", "event_id", "type", "outcome")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "kind",
        "article",
        "customer_email",
        "amount",
        "currency",
        "created_at",
        "age",
        "queue_job_id",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["id", "customer_email", "target_url", "anchor_text"]
    list_select_related = ["article"]
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [TransitionInline, StripeEventInline, EmailInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("article", "current_version")

    @admin.display(description="Age")
    def age(self, obj: Order) -> str:
        return timesince(obj.created_at, timezone.now())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "type", "event_id", "order", "outcome"]
    list_filter = ["type", "outcome"]
    search_fields = ["event_id", "object_id", "order__id"]
    readonly_fields = ["event_id", "type", "object_id", "order", "outcome", "payload", "received_at"]


@admin.register(EmailRecord)
class EmailRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "order", "sent_at", "error"]
    list_filter = ["kind"]
    search_fields = ["to", "order__id"]
    readonly_fields = [
        "order",
        "kind",
        "key",
        "to",
        "subject",
        "sent_at",
        "provider_message_id",
        "error",
        "created_at",
    ]
