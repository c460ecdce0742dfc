"""Who a client is, how a rate is read, and what happens when the counter store is gone."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from blogorder.settings.env import Env
from purchases.models import Order

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/purchase/status/0b8a9a3e-52b1-4a8e-9c61-3f1a6e0c2d11"


def hit(api: APIClient, *, ip: str = "203.0.113.7", forwarded: str | None = None) -> int:
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return int(api.get(STATUS, REMOTE_ADDR=ip, **extra).status_code)


def test_a_forged_forwarded_for_header_does_not_make_a_new_client(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_LOOKUP = "1/min"
    assert hit(api, forwarded="1.1.1.1") == 404

    assert hit(api, forwarded="2.2.2.2") == 429


def test_behind_a_trusted_proxy_clients_are_told_apart_by_its_header(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_LOOKUP = "1/min"
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    proxy = "10.0.0.2"
    assert hit(api, ip=proxy, forwarded="9.9.9.9, 198.51.100.1") == 404
    assert hit(api, ip=proxy, forwarded="198.51.100.2") == 404

    # The client may write anything before the address the proxy appends; only that last one counts.
    assert hit(api, ip=proxy, forwarded="8.8.8.8, 198.51.100.1") == 429


def test_a_header_without_a_valid_address_falls_back_to_the_peer_address(
    api: APIClient, settings: Any
) -> None:
    settings.RATE_LIMIT_LOOKUP = "1/min"
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    assert hit(api, forwarded="not-an-ip") == 404

    assert hit(api, forwarded="still-not-an-ip") == 429


def test_with_redis_unreachable_requests_are_let_through_not_refused(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_LOOKUP = "1/min"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    assert [hit(api) for _ in range(3)] == [404, 404, 404]


@pytest.mark.parametrize("value", ["20/hour", "5/min", "1/s", "100/day", "off", "OFF"])
def test_a_rate_setting_takes_drf_format_or_off(monkeypatch: Any, value: str) -> None:
    monkeypatch.setenv("RATE_LIMIT_X", value)
    assert Env().rate("RATE_LIMIT_X", "20/hour") == value.lower()


@pytest.mark.parametrize("value", ["20", "twenty/hour", "20/fortnight", "20 per hour", "-1/hour"])
def test_a_mistyped_rate_stops_the_start_up_instead_of_every_request(monkeypatch: Any, value: str) -> None:
    monkeypatch.setenv("RATE_LIMIT_X", value)
    with pytest.raises(ImproperlyConfigured, match="RATE_LIMIT_X"):
        Env().rate("RATE_LIMIT_X", "20/hour")


@pytest.mark.parametrize(("value", "expected"), [("", 3), ("0", 0), ("7", 7), ("off", None)])
def test_a_cap_setting_is_a_whole_number_or_off(monkeypatch: Any, value: str, expected: int | None) -> None:
    monkeypatch.setenv("CAP_X", value)
    assert Env().cap("CAP_X", 3) == expected


def test_a_mistyped_cap_stops_the_start_up(monkeypatch: Any) -> None:
    monkeypatch.setenv("CAP_X", "three")
    with pytest.raises(ImproperlyConfigured, match="CAP_X"):
        Env().cap("CAP_X", 3)


def test_a_request_without_a_client_address_is_still_counted_and_stores_none(
    api: APIClient, settings: Any, article: Any
) -> None:
    settings.RATE_LIMIT_CHECKOUT = "1/hour"
    body = {
        "articleId": article.pk,
        "targetUrl": "https://shop.example-store.com/pillows",
        "anchorText": "memory foam pillows",
        "customerEmail": "socket@example.com",
    }
    first = api.post("/api/v1/purchase/checkout", body, format="json", REMOTE_ADDR="")
    assert first.status_code == 201
    assert Order.objects.get().client_ip is None

    assert api.post("/api/v1/purchase/checkout", body, format="json", REMOTE_ADDR="").status_code == 429


def test_the_window_slides_and_refused_requests_do_not_count(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_LOOKUP = "2/s"
    assert [hit(api), hit(api)] == [404, 404]
    time.sleep(0.5)
    refused = api.get(STATUS, REMOTE_ADDR="203.0.113.7")
    assert (refused.status_code, hit(api)) == (429, 429)
    assert 0 < int(refused["Retry-After"]) <= 1

    time.sleep(0.6)  # the first two are a second old; the two refused, half a second, never counted

    assert [hit(api), hit(api), hit(api)] == [404, 404, 429]
