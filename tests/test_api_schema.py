"""The OpenAPI schema and the docs pages: valid, self-hosted, and saying how each endpoint is called."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

SIDECAR_ASSET = re.compile(r'(?:src|href)="(/static/drf_spectacular_sidecar/[^"]+)"')


def sidecar_assets(html: str) -> list[str]:
    """Paths (relative to STATIC_URL) of the drf-spectacular-sidecar assets a docs page loads."""
    static_prefix = "/" + settings.STATIC_URL.lstrip("/")
    return [url.removeprefix(static_prefix) for url in SIDECAR_ASSET.findall(html)]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "/api/docs/",
            {
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
                "drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png",
            },
        ),
        ("/api/redoc/", {"drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"}),
    ],
)
def test_a_docs_page_loads_its_ui_from_our_own_static_files(
    client: Any, page: str, expected: set[str]
) -> None:
    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr.net" not in html
    assets = sidecar_assets(html)
    assert set(assets) == expected
    for asset in assets:
        assert finders.find(asset), f"{asset} is not among the static files"
