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
