"""POST /api/v1/purchase/checkout: validation, slots, and the Stripe Checkout Session it opens."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from purchases.models import Order, OrderStatus
from tests.factories import make_order, make_published_article

pytestmark = pytest.mark.django_db


def body(article: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "articleId": article.pk,
        "targetUrl": "https://www.example-store.com/pillows",
        "anchorText": "memory foam pillows",
        "customerEmail": "buyer@example.com",
        "customerNotes": "Please keep it subtle.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("articleId", ...),
        ("articleId", "abc"),
        ("articleId", 0),
        ("articleId", None),
        ("targetUrl", ...),
        ("targetUrl", ""),
        ("targetUrl", "ftp://files.example-store.com/x"),
        ("targetUrl", "example-store.com/no-scheme"),
        ("targetUrl", "http://localhost:8000/admin"),
        ("targetUrl", "http://127.0.0.1/x"),
        ("targetUrl", "http://10.0.0.5/x"),
        ("targetUrl", "http://[::1]/x"),
        ("targetUrl", "https://intranet/x"),
        ("targetUrl", "https://printer.local/x"),
        ("targetUrl", "https://user:pw@example-store.com/x"),
        ("targetUrl", "https://example-store.com:99999/x"),
        ("targetUrl", "https://example-store.com:0/x"),
        ("targetUrl", "https://example-store.com/" + "a" * 2000),
        ("targetUrl", 42),
        ("targetUrl", "javascript:alert(1)"),
        ("anchorText", ...),
        ("anchorText", ""),
        ("anchorText", "   "),
        ("anchorText", "a" * 101),
        ("anchorText", "<b>bold</b>"),
        ("anchorText", "[x](https://evil.example.com)"),
        ("anchorText", "line\nbreak"),
        ("customerNotes", "n" * 1001),
        ("customerNotes", 12.5),
        ("customerEmail", ...),
        ("customerEmail", "not-an-email"),
        ("customerEmail", ""),
    ],
)
def test_each_invalid_field_answers_400_naming_it_and_creates_nothing(
    api: Any, article: Any, field: str, value: Any
) -> None:
    response = api.post("/api/v1/purchase/checkout", body(article, **{field: value}), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert Order.objects.count() == 0


def test_malformed_json_is_a_400_in_the_error_shape(api: Any, article: Any) -> None:
    response = api.post("/api/v1/purchase/checkout", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_json_array_body_is_a_400_not_a_500(api: Any, article: Any) -> None:
    response = api.post("/api/v1/purchase/checkout", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_an_unknown_article_is_a_400_on_article_id(api: Any, db: Any) -> None:
    response = api.post("/api/v1/purchase/checkout", body(type("A", (), {"pk": 999999})()), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["articleId"]


def test_local_test_mode_creates_a_pending_order_and_a_test_checkout_page(
    api: Any, article: Any, local_test_payments: Any
) -> None:
    response = api.post("/api/v1/purchase/checkout", body(article), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    order = Order.objects.get(pk=data["orderId"])
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.target_url == "https://www.example-store.com/pillows"
    assert len(data["orderToken"]) >= 43
    assert data["checkoutUrl"].startswith("http://testserver/purchase/test-checkout/cs_test_local_")
    page = api.get(data["checkoutUrl"].removeprefix("http://testserver"))
    assert b"TEST MODE" in page.content
    assert local_test_payments.requests == []  # Stripe was never called


def test_the_token_is_not_stored_anywhere_on_the_order(api: Any, article: Any) -> None:
    data = api.post("/api/v1/purchase/checkout", body(article), format="json").json()
    order = Order.objects.get(pk=data["orderId"])
    stored = [str(getattr(order, f.attname)) for f in Order._meta.fields]
    assert all(data["orderToken"] not in value for value in stored)


def test_real_mode_opens_a_stripe_checkout_session_with_the_order_id(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    response = api.post("/api/v1/purchase/checkout", body(article), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    (session,) = fake_stripe.sessions.values()
    assert data["checkoutUrl"] == session["url"]
    assert session["client_reference_id"] == data["orderId"]
    assert session["metadata"] == {"order_id": data["orderId"]}
    assert session["mode"] == "payment"
    assert session["amount_total"] == 4900
    assert session["success_url"].startswith("http://testserver/orders/")
    (request,) = [r for r in fake_stripe.requests if r.method == "POST"]
    assert request.headers["idempotency-key"] == f"checkout-{data['orderId']}"
    assert Order.objects.get(pk=data["orderId"]).stripe_checkout_session_id == session["id"]


def test_stripe_down_answers_503_and_releases_the_slot(api: Any, fake_stripe: Any, db: Any) -> None:
    article = make_published_article(max_backlinks=1)
    fake_stripe.fail_next(500, n=5, headers={"Stripe-Should-Retry": "false"})
    response = api.post("/api/v1/purchase/checkout", body(article), format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"
    assert api.get(f"/api/v1/articles/{article.pk}/").json()["slotsLeft"] == 1


def test_a_sold_out_article_answers_409(api: Any, db: Any) -> None:
    article = make_published_article(max_backlinks=1)
    make_order(article)
    response = api.post("/api/v1/purchase/checkout", body(article), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sold_out"
    assert Order.objects.count() == 1


def _backends_waiting_on_a_lock(monitor: psycopg.Connection[Any]) -> int:
    row = monitor.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_checkouts_racing_for_the_last_slot_sell_it_once(api: Any) -> None:
    """Deterministic, not a timing race: new orders are held back until both checkouts are under way.

    Another session holds ``purchases_order`` in SHARE mode (reads pass, inserts wait). The first
    checkout locks the article row, counts no order and waits to insert; the second waits on the
    article row. Released, the first inserts and commits, and the second counts it and is refused.
    Without the article row lock both would count no order before either inserted.
    """
    article = make_published_article(max_backlinks=1)

    def checkout(n: int) -> tuple[int, dict[str, Any]]:
        try:
            response = APIClient().post(
                "/api/v1/purchase/checkout",
                body(article, customerEmail=f"racer{n}@example.com"),
                format="json",
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    settings = connection.settings_dict
    params: dict[str, Any] = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
    }
    # The monitor runs in autocommit: pg_stat_activity is read once per transaction.
    with (
        psycopg.connect(**params) as blocker,
        psycopg.connect(**params, autocommit=True) as monitor,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        blocker.execute("LOCK TABLE purchases_order IN SHARE MODE")
        try:
            racing = [pool.submit(checkout, n) for n in range(2)]
            deadline = time.monotonic() + 20
            while _backends_waiting_on_a_lock(monitor) < 2:
                assert time.monotonic() < deadline, "the two checkouts never both waited"
                assert not any(future.done() for future in racing), [f.result() for f in racing if f.done()]
                time.sleep(0.05)
        finally:
            blocker.rollback()
        answers = sorted((future.result(timeout=30) for future in racing), key=lambda answer: answer[0])

    assert [status for status, _ in answers] == [201, 409]
    assert answers[1][1]["error"]["code"] == "sold_out"
    assert list(Order.objects.filter(article=article).values_list("id", flat=True)) == [
        Order.objects.get(pk=answers[0][1]["orderId"]).pk
    ]
    assert api.get(f"/api/v1/articles/{article.pk}/").json()["slotsLeft"] == 0


def test_an_unpublished_article_answers_409(api: Any, db: Any) -> None:
    article = make_published_article(publish=False)
    response = api.post("/api/v1/purchase/checkout", body(article), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "article_unavailable"


def test_expired_unpaid_checkouts_free_their_slot(api: Any, db: Any) -> None:
    from django.utils import timezone

    article = make_published_article(max_backlinks=1)
    order, _ = make_order(article)
    Order.objects.filter(pk=order.pk).update(checkout_expires_at=timezone.now())
    response = api.post("/api/v1/purchase/checkout", body(article), format="json")
    assert response.status_code == 201


# --- New-article orders ------------------------------------------------------------------------


def article_body(**overrides: Any) -> dict[str, Any]:
    data = {
        "orderType": "article",
        "topic": "Choosing a pillow for side sleepers",
        "keywords": ["pillow loft", "cervical support"],
        "wordCount": 1200,
        "targetUrl": "https://www.example-store.com/pillows",
        "anchorText": "memory foam pillows",
        "customerEmail": "buyer@example.com",
        "customerNotes": "Friendly tone, please.",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("orderType", "magazine"),
        ("orderType", None),
        ("orderType", 3),
        ("orderType", ["article"]),
        ("topic", ...),
        ("topic", ""),
        ("topic", "ab"),
        ("topic", "  a  "),
        ("topic", "t" * 201),
        ("topic", "two\nlines"),
        ("topic", "<script>alert(1)</script>"),
        ("topic", "[[memory foam pillows]]"),
        ("topic", 42),
        ("topic", None),
        ("keywords", "pillow loft, cervical support"),
        ("keywords", [f"keyword {n}" for n in range(11)]),
        ("keywords", [""]),
        ("keywords", ["   "]),
        ("keywords", ["k" * 51]),
        ("keywords", ["line\nbreak"]),
        ("keywords", ["{{ placeholder }}"]),
        ("keywords", ["!!!"]),
        ("keywords", [3]),
        ("keywords", [["nested"]]),
        ("keywords", {"a": "b"}),
        ("keywords", None),
        ("wordCount", 299),
        ("wordCount", 3001),
        ("wordCount", "many"),
        ("wordCount", 10**100),
        ("wordCount", 800.5),
        ("wordCount", True),
        ("wordCount", [800]),
        ("targetUrl", ...),
        ("targetUrl", "http://localhost:8000/admin"),
        ("targetUrl", "javascript:alert(1)"),
        ("anchorText", ...),
        ("anchorText", "<b>bold</b>"),
        ("anchorText", "a" * 101),
        ("customerNotes", "n" * 1001),
        ("customerEmail", ...),
        ("customerEmail", "not-an-email"),
    ],
)
def test_each_invalid_article_field_answers_400_naming_it_and_creates_nothing(
    api: Any, db: Any, field: str, value: Any
) -> None:
    response = api.post("/api/v1/purchase/checkout", article_body(**{field: value}), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]
    assert list(error["fields"]) == [field]
    assert Order.objects.count() == 0


def test_an_article_checkout_creates_a_pending_article_order_at_the_configured_price(
    api: Any, db: Any, settings: Any, local_test_payments: Any
) -> None:
    settings.ARTICLE_ORDER_PRICE = Decimal("249.00")
    settings.ARTICLE_ORDER_CURRENCY = "eur"
    response = api.post(
        "/api/v1/purchase/checkout",
        article_body(
            topic="  Choosing   a pillow  ", keywords=["Pillow loft", "pillow LOFT", "cervical support"]
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["orderId"])
    assert (order.kind, order.status, order.article_id) == (
        Order.Kind.ARTICLE,
        OrderStatus.PENDING_PAYMENT,
        None,
    )
    assert (order.amount, order.currency) == (Decimal("249.00"), "eur")
    assert order.topic == "Choosing a pillow"
    assert order.keywords == ["Pillow loft", "cervical support"]
    assert order.word_count == 1200
    assert order.display_title == "Choosing a pillow"
    page = api.get(response.json()["checkoutUrl"].removeprefix("http://testserver"))
    assert b"TEST MODE" in page.content
    assert "Choosing a pillow" in page.content.decode()


def test_an_article_checkout_defaults_to_800_words_and_no_keywords(api: Any, db: Any) -> None:
    response = api.post(
        "/api/v1/purchase/checkout",
        article_body(keywords=..., wordCount=..., customerNotes=...),
        format="json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["orderId"])
    assert (order.word_count, order.keywords, order.customer_notes) == (800, [], "")


def test_an_article_checkout_opens_a_stripe_session_for_the_article_price(
    api: Any, db: Any, fake_stripe: Any
) -> None:
    response = api.post("/api/v1/purchase/checkout", article_body(), format="json")
    assert response.status_code == 201, response.content
    (session,) = fake_stripe.sessions.values()
    assert session["amount_total"] == 19900
    assert session["currency"] == "usd"
    assert session["client_reference_id"] == response.json()["orderId"]
    (request,) = [r for r in fake_stripe.requests if r.method == "POST"]
    assert request.body["line_items"][0]["price_data"]["product_data"]["name"] == (
        "Sponsored article: “Choosing a pillow for side sleepers”"
    )


def test_article_orders_take_no_backlink_slot(api: Any, db: Any) -> None:
    article = make_published_article(max_backlinks=1)
    assert (
        api.post("/api/v1/purchase/checkout", article_body(articleId=article.pk), format="json").status_code
        == 201
    )
    assert api.get(f"/api/v1/articles/{article.pk}/").json()["slotsLeft"] == 1


def test_stripe_down_answers_503_for_an_article_checkout(api: Any, db: Any, fake_stripe: Any) -> None:
    fake_stripe.fail_next(500, n=5, headers={"Stripe-Should-Retry": "false"})
    response = api.post("/api/v1/purchase/checkout", article_body(), format="json")
    assert response.status_code == 503
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert "Checkout could not be opened" in order.failure_reason


def test_the_api_schema_documents_both_checkout_forms(api: Any, db: Any) -> None:
    schema = api.get("/api/schema/", {"format": "json"}).json()
    request = schema["components"]["schemas"]["CheckoutRequest"]
    assert request["discriminator"]["mapping"] == {
        "backlink": "#/components/schemas/CheckoutIn",
        "article": "#/components/schemas/ArticleCheckoutIn",
    }
