"""The editors' desk page in the admin (``/admin/desk/``): thin, the sections are ``purchases.desk``'s.

Wired on the admin site in ``blogorder/urls.py`` through ``admin.site.admin_view`` (staff only,
signed in); it also needs the permission to view orders.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from purchases.desk import desk_context

DESK_PERMISSION = "purchases.view_order"


def desk_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(DESK_PERMISSION):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "The editors' desk",
        **desk_context(),
    }
    return TemplateResponse(request, "admin/desk.html", context)
