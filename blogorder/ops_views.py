"""Operations endpoints: ``/healthz`` (liveness), ``/readyz`` (readiness) and ``/metrics`` (Prometheus).

Thin: the checks live in ``blogorder.health``, the metrics and their token in ``blogorder.metrics``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from blogorder.api_errors import error_body
from blogorder.health import readiness
from blogorder.metrics import metrics_authorized, metrics_enabled, metrics_text


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers; nothing else is checked (a liveness probe)."""
    return JsonResponse({"ok": True})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when everything ``blogorder.health.readiness`` checks is fine, else 503 naming what failed."""
    result = readiness()
    return JsonResponse(result.as_dict(), status=200 if result.ready else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text; 404 while ``METRICS_TOKEN`` is unset, 401 without a bearer token, 403 with a wrong one."""
    if not metrics_enabled():
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    if not request.headers.get("Authorization"):
        response = JsonResponse(error_body("not_authenticated", "A bearer token is required."), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not metrics_authorized(request):
        return JsonResponse(error_body("permission_denied", "Wrong token."), status=403)
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
