"""Who may use the admin's riskier doors: the RQ dashboard, and admin sign-in after failures.

Wiring only (``blogorder.urls`` and the settings name these); no app imports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, reverse
from django_rq.admin import QueueAdmin

from purchases.jobs import order_job_run_over

# django_rq's own permission ("Access admin page"), given to a group or user in the admin.
RQ_DASHBOARD_PERMISSION = "django_rq.admin"
# django_rq's views that also answer a bearer token (RQ_API_TOKEN) for monitoring.
RQ_TOKEN_VIEWS = frozenset({"django_rq_home_json", "django_rq_metrics"})


def rq_dashboard_allowed(user: Any) -> bool:
    """Superusers, and active staff holding ``django_rq.admin``: the queues show job ids (which
    name orders) and let their user delete jobs and empty queues."""
    return bool(
        user.is_active and user.is_staff and (user.is_superuser or user.has_perm(RQ_DASHBOARD_PERMISSION))
    )


class RQDashboardAdmin(QueueAdmin):
    """django_rq's dashboard under ``/admin/django_rq/``, for ``rq_dashboard_allowed`` users only.

    django_rq 4.2 lets every staff user in (its views ask only ``is_staff``; its permission only
    hides the admin link), so each of its views is wrapped: a signed-in user without the right is
    refused with 403, except on the token views, where they count as anonymous (the token still works).
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return rq_dashboard_allowed(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return rq_dashboard_allowed(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return rq_dashboard_allowed(request.user)

    def get_urls(self) -> list[URLPattern]:
        patterns = super().get_urls()
        for pattern in patterns:
            if str(pattern.name).endswith("requeue_job"):
                pattern.callback = _requeue_guarded(pattern.callback)
            pattern.callback = _rq_guarded(pattern.callback, token_view=pattern.name in RQ_TOKEN_VIEWS)
        return patterns


def _requeue_guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Requeueing an order job whose run is over would run a job that does nothing: refused, with a
    message that sends staff to the order's "Try again" action (``purchases.jobs.order_job_run_over``).
    Other jobs, and a run still current, are requeued as django_rq does. Requeue-all and the bulk
    requeue are not intercepted: such a job fails again with ``RunOver`` and the same message."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        over = order_job_run_over(job_id=str(kwargs.get("job_id", ""))) if request.method == "POST" else None
        if over is None:
            return view(request, *args, **kwargs)
        messages.error(request, str(over))
        return HttpResponseRedirect(reverse("admin:purchases_order_change", args=[over.order_id]))

    return guarded


def _rq_guarded(view: Callable[..., HttpResponse], *, token_view: bool) -> Callable[..., HttpResponse]:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not rq_dashboard_allowed(request.user):
            if not token_view:
                raise PermissionDenied("The job queues are for superusers and holders of django_rq.admin.")
            request.user = AnonymousUser()
        return view(request, *args, **kwargs)

    return guarded


def admin_lockout(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer once a username has failed too often from one address (AXES_LOCKOUT_CALLABLE).

    A 429 admin-styled page saying when to try again, with ``Retry-After`` in seconds; the
    password is not checked meanwhile, so guessing on gains nothing.
    """
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = max(1, math.ceil(cooloff.total_seconds() / 60))
    response = render(
        request,
        "admin/login_locked.html",
        {"title": "Too many sign-in attempts", "minutes": minutes, "site_header": "Blogorder administration"},
        status=429,
    )
    response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response
