"""Incidents for staff: a read-only list (what, since when, cleared when, who was told)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from alerts.models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "opened_at",
        "key",
        "title",
        "last_seen_at",
        "resolved_at",
        "notified",
        "recovery_notified",
    )
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    search_fields = ("key", "title")
    readonly_fields = tuple(f.name for f in Incident._meta.fields)
    date_hierarchy = "opened_at"

    @admin.display(boolean=True, description="staff told")
    def notified(self, obj: Incident) -> bool:
        return obj.notified

    @admin.display(boolean=True, description="recovery told")
    def recovery_notified(self, obj: Incident) -> bool:
        return obj.recovery_notified

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
