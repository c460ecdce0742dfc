"""The OpenAPI schema and the docs pages: valid, self-hosted, and saying how each endpoint is called."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

from purchases.serializers import ArticleCheckoutInSerializer, CheckoutInSerializer

ORDER_OPERATIONS = [
    ("/api/v1/purchase/status/{order_id}", "get"),
    ("/api/v1/purchase/content/{order_id}", "get"),
    ("/api/v1/purchase/versions/{order_id}", "get"),
    ("/api/v1/purchase/regenerate-backlink", "post"),
    ("/api/v1/purchase/submit-for-review", "post"),
    ("/api/v1/purchase/messages", "post"),
    ("/api/v1/purchase/messages/{order_id}", "get"),
]
PUBLIC_OPERATIONS = [
    ("/api/v1/purchase/checkout", "post"),
    ("/api/v1/purchase/webhook", "post"),
    ("/api/v1/purchase/lookup", "post"),
    ("/api/v1/articles/", "get"),
    ("/api/v1/articles/{article_id}/", "get"),
]
ERROR_RESPONSES = [
    ("/api/v1/purchase/checkout", "post", {"400", "409", "429", "503"}),
    ("/api/v1/purchase/webhook", "post", {"400"}),
    ("/api/v1/purchase/lookup", "post", {"400", "429"}),
    ("/api/v1/purchase/status/{order_id}", "get", {"404", "429"}),
    ("/api/v1/purchase/content/{order_id}", "get", {"404", "409", "429"}),
    ("/api/v1/purchase/versions/{order_id}", "get", {"404", "429"}),
    ("/api/v1/purchase/regenerate-backlink", "post", {"400", "404", "409", "429"}),
    ("/api/v1/purchase/submit-for-review", "post", {"400", "404", "409", "429"}),
    ("/api/v1/purchase/messages", "post", {"400", "404", "409", "429"}),
    ("/api/v1/purchase/messages/{order_id}", "get", {"404", "429"}),
    ("/api/v1/articles/", "get", {"400", "404"}),
    ("/api/v1/articles/{article_id}/", "get", {"404"}),
]
ERROR_REF = "#/components/schemas/Error"
ERROR_CODE = re.compile(r"`[a-z_]+`:")
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


@pytest.fixture
def schema(client: Any) -> dict[str, Any]:
    """The schema as served to clients (JSON)."""
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return dict(response.json())


def test_the_served_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate_schema(schema)


def test_the_schema_declares_the_order_token_as_a_bearer_scheme(schema: dict[str, Any]) -> None:
    scheme = schema["components"]["securitySchemes"]["orderToken"]

    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize(("path", "method"), ORDER_OPERATIONS)
def test_an_order_endpoint_requires_the_order_token(schema: dict[str, Any], path: str, method: str) -> None:
    assert schema["paths"][path][method]["security"] == [{"orderToken": []}]


@pytest.mark.parametrize(("path", "method"), PUBLIC_OPERATIONS)
def test_a_public_endpoint_asks_for_no_credentials(schema: dict[str, Any], path: str, method: str) -> None:
    assert "security" not in schema
    assert "security" not in schema["paths"][path][method]


def test_the_error_shape_is_one_component(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]

    assert components["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert components["Error"]["required"] == ["error"]
    assert set(components["ErrorBody"]["properties"]) == {"code", "message", "fields"}


def test_the_checkout_documents_its_400_409_and_503_with_the_error_shape(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/v1/purchase/checkout"]["post"]["responses"]

    for status in ("400", "409", "503"):
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    assert "sold_out" in responses["409"]["description"]


@pytest.mark.parametrize(("path", "method", "statuses"), ERROR_RESPONSES)
def test_an_endpoint_documents_each_error_it_answers(
    schema: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    responses = schema["paths"][path][method]["responses"]

    errors = {status for status in responses if status.startswith(("4", "5"))}
    assert errors == statuses
    for status in errors:
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
        assert ERROR_CODE.search(responses[status]["description"]), "the description names no error code"


def test_the_checkout_request_examples_are_accepted_by_the_checkout(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/api/v1/purchase/checkout"]["post"]["requestBody"]["content"]["application/json"]
    examples = {example["value"]["orderType"]: example["value"] for example in body["examples"].values()}

    assert set(examples) == {"backlink", "article"}
    assert CheckoutInSerializer(data=examples["backlink"]).is_valid(raise_exception=True)
    assert ArticleCheckoutInSerializer(data=examples["article"]).is_valid(raise_exception=True)
