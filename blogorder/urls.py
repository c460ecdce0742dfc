from typing import Any

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django_rq.models import Dashboard
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from blogorder import ops_views
from blogorder.admin_access import RQDashboardAdmin
from purchases.admin_desk import desk_view
from purchases.catalog import apis as catalog_apis
from purchases.catalog import views as catalog_views
from purchases.urls import api_urlpatterns as purchase_api
from purchases.urls import page_urlpatterns as purchase_pages

# What the API docs' third-party bundles need beyond the site-wide policy (settings, CSP_DIRECTIVES):
# the styles they inject, their data: icons and Redoc's blob: worker. Still no inline script: Swagger
# UI's start-up script is a separate request (the "split" view).
API_DOCS_CSP: dict[str, Any] = {
    "style-src": ["'unsafe-inline'"],
    "img-src": ["data:"],
    "worker-src": ["blob:"],
}


# django_rq registers its dashboard for every staff user; ours asks for the right (RQ_SHOW_ADMIN_LINK on).
if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)
    admin.site.register(Dashboard, RQDashboardAdmin)


api_v1: list[URLPattern | URLResolver] = [
    path("articles/", catalog_apis.ArticleListApi.as_view(), name="article-list"),
    path("articles/<int:article_id>/", catalog_apis.ArticleDetailApi.as_view(), name="article-detail"),
    path("purchase/", include((purchase_api, "purchases"), namespace="purchase-api")),
]

urlpatterns = [
    path("", catalog_views.article_index, name="home"),
    path("articles/<slug:slug>/", catalog_views.article_page, name="article-page"),
    path("", include((purchase_pages, "purchases"), namespace="purchases")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        csp_update(API_DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        csp_update(API_DOCS_CSP)(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
    # The editors' desk, on the admin site (staff only, signed in): README "The editors' desk".
    path("admin/desk/", admin.site.admin_view(desk_view), name="admin-desk"),
    path("admin/", admin.site.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
]

handler400 = "blogorder.api_errors.json_400"
handler404 = "blogorder.api_errors.json_404"
handler500 = "blogorder.api_errors.json_500"
