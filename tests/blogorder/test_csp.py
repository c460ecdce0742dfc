"""Issue 9, "images from anywhere reach published pages": every response carries a
Content-Security-Policy that loads nothing from another host and runs no inline script, and our
own pages (the public ones and the admin's) need nothing the policy forbids.

Through Django's test client, so the real middleware stack answers.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from purchases.models import Order
from tests.conftest import checkout_event, signed_post
from tests.factories import make_article_order, make_order, make_published_article

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def policy(response: Any) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def assert_strict(response: Any) -> None:
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def assert_needs_nothing_inline(html: str) -> None:
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html)


@pytest.fixture
def site(db: Any) -> dict[str, Any]:
    article = make_published_article()
    order, token = make_order(article)
    article_order, _ = make_article_order()
    return {"article": article, "order": order, "token": token, "article_order": article_order}


@pytest.fixture
def superuser(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


def public_pages(site: dict[str, Any]) -> list[str]:
    article, order = site["article"], site["order"]
    return [
        "/",
        f"/articles/{article.slug}/",
        f"/articles/{article.slug}/buy/",
        "/order/article/",
        f"/orders/{order.id}/?token={site['token']}",
    ]


def admin_pages(site: dict[str, Any]) -> list[str]:
    order, article_order = site["order"], site["article_order"]
    return [
        "/admin/",
        "/admin/purchases/order/",
        f"/admin/purchases/order/{order.id}/change/",
        f"/admin/purchases/order/{article_order.id}/change/",
        f"/admin/purchases/order/{order.id}/reject/",
        f"/admin/purchases/order/{order.id}/refund/",
        "/admin/articles/article/",
        f"/admin/articles/article/{site['article'].pk}/change/",
        "/admin/auth/user/",
    ]


def test_every_public_page_answers_with_the_strict_policy_and_needs_nothing_inline(
    client: Any, site: dict[str, Any]
) -> None:
    for url in public_pages(site):
        response = client.get(url, follow=True)  # the order page swaps ?token= for a cookie first
        assert response.status_code == 200, url
        assert_strict(response)
        assert_needs_nothing_inline(response.content.decode())


def test_the_local_test_checkout_page_answers_with_the_strict_policy_and_needs_nothing_inline(
    api: Any, client: Any, local_test_payments: Any
) -> None:
    article = make_published_article()
    data = api.post(
        "/api/v1/purchase/checkout",
        {
            "articleId": article.pk,
            "targetUrl": "https://www.example-store.com/pillows",
            "anchorText": "memory foam pillows",
            "customerEmail": "buyer@example.com",
        },
        format="json",
    ).json()
    response = client.get(data["checkoutUrl"].removeprefix("http://testserver"))
    assert response.status_code == 200
    assert_strict(response)
    assert_needs_nothing_inline(response.content.decode())


def test_every_admin_page_we_use_answers_with_the_strict_policy_and_needs_nothing_inline(
    client: Any, site: dict[str, Any], superuser: User
) -> None:
    login = client.get("/admin/login/")
    assert_strict(login)
    assert_needs_nothing_inline(login.content.decode())
    Order.objects.filter(pk=site["order"].pk).update(paid_at="2026-01-01T00:00:00Z")
    client.force_login(superuser)
    for url in admin_pages(site):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response)
        assert_needs_nothing_inline(response.content.decode())


def test_the_api_errors_static_files_and_the_rq_dashboard_carry_the_policy_too(
    client: Any, api: Any, site: dict[str, Any], superuser: User
) -> None:
    responses = [
        api.get("/api/v1/articles/"),
        api.get(f"/api/v1/purchase/status/{site['order'].id}", HTTP_AUTHORIZATION="Bearer wrong"),
        api.post("/api/v1/purchase/checkout", "{", content_type="application/json"),
        client.get("/healthz"),
        client.get("/api/schema/"),
        client.get("/no-such-page/"),
        client.get("/static/purchases/css/site.css"),
    ]
    client.force_login(superuser)
    responses.append(client.get("/admin/django_rq/dashboard/"))
    for response in responses:
        assert_strict(response)


def test_the_api_docs_allow_their_bundles_styles_and_workers_but_still_no_inline_script(
    client: Any,
) -> None:
    for url in ("/api/docs/", "/api/redoc/"):
        response = client.get(url)
        assert response.status_code == 200
        directives = policy(response)
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
        assert directives["img-src"] == ["'self'", "data:"]
        assert not INLINE_SCRIPT.search(response.content.decode()), url
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_order_page_while_writing_and_with_its_buttons_needs_nothing_inline(
    api: Any, client: Any, run_worker: Any
) -> None:
    order, token = make_order(make_published_article())
    assert signed_post(api, checkout_event(order, event_id="evt_csp")).status_code == 200
    writing = client.get(f"/orders/{order.id}/", {"token": token}, follow=True)
    assert b"<progress" in writing.content
    run_worker()
    drafted = client.get(f"/orders/{order.id}/", {"token": token}, follow=True)
    assert b'value="regenerate"' in drafted.content

    for response in (writing, drafted):
        assert_strict(response)
        assert_needs_nothing_inline(response.content.decode())
