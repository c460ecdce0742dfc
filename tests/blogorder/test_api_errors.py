"""The API error shape holds for input the API cannot even echo back: always a 4xx JSON answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from purchases.models import Order

pytestmark = pytest.mark.django_db


def test_a_lone_surrogate_echoed_in_an_error_message_is_escaped_not_a_500(api: Any, article: Any) -> None:
    # json.dumps writes the lone surrogate as the escape \ud800; DRF's choice error quotes it back.
    body = json.dumps(
        {
            "orderType": "\ud800",
            "articleId": article.pk,
            "targetUrl": "https://shop.example.com/x",
            "anchorText": "tents",
            "customerEmail": "buyer@example.com",
        }
    )
    response = api.post("/api/v1/purchase/checkout", data=body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["orderType"]
    assert "\\ud800" in error["fields"]["orderType"][0]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/purchase/checkout",
        "/api/v1/purchase/regenerate-backlink",
        "/api/v1/purchase/submit-for-review",
    ],
)
@pytest.mark.parametrize("body", ["[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000])
def test_json_nested_too_deeply_to_decode_is_a_400_parse_error(api: Any, path: str, body: str) -> None:
    response = api.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert Order.objects.count() == 0


@pytest.mark.parametrize("path", ["/api/v1/purchase/checkout", "/api/v1/purchase/webhook"])
def test_a_body_over_the_upload_limit_is_a_413_in_the_error_shape(api: Any, settings: Any, path: str) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"customerNotes": "x" * 2000})
    response = api.post(path, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=0")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "request_too_large"
    assert Order.objects.count() == 0


@pytest.mark.parametrize("host", ["evil.example.com", "bücher.de", "xn--bcher-kva.de"])
def test_a_host_not_allowed_is_a_400_in_the_error_shape_under_the_api(api: Any, host: str) -> None:
    response = api.get("/api/v1/articles/", HTTP_HOST=host)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "bad_request"


def test_a_host_not_allowed_is_django_s_page_outside_the_api(client: Any) -> None:
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
