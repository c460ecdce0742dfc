"""The link policy at checkout, through the API and the site's buy forms: refusals are a 400 naming the
field with nothing written and no Stripe call; a surcharge is charged through Stripe Checkout, recorded on
the order, and shown in the answer, the admin and the receipt; the quote endpoint writes nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from purchases.models import Order
from tests.conftest import signed_post
from tests.factories import block_domain, make_niche, make_published_article, refuse_niche

pytestmark = pytest.mark.django_db

CHECKOUT, QUOTE = "/api/v1/purchase/checkout", "/api/v1/purchase/quote"


def body(article: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "articleId": article.pk,
        "targetUrl": "https://www.example-store.com/pillows",
        "anchorText": "memory foam pillows",
        "customerEmail": "buyer@example.com",
        "customerNotes": "",
    }
    data.update(overrides)
    return data


def article_body(**overrides: Any) -> dict[str, Any]:
    data = {
        "orderType": "article",
        "topic": "Choosing a pillow for side sleepers",
        "keywords": ["pillow loft"],
        "targetUrl": "https://www.example-store.com/pillows",
        "anchorText": "memory foam pillows",
        "customerEmail": "buyer@example.com",
    }
    data.update(overrides)
    return data


def stripe_posts(fake_stripe: Any) -> list[Any]:
    return [r for r in fake_stripe.requests if r.method == "POST"]


def assert_refused(response: Any, field: str, words: str, fake_stripe: Any) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "link_refused"
    assert list(error["fields"]) == [field]
    assert words in error["message"] and error["fields"][field] == [error["message"]]
    assert Order.objects.count() == 0
    assert fake_stripe.requests == []


# --- Refusals through the API ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://example.com/x", "https://shop.Example.com/x"])
def test_checkout_refuses_a_blocked_domain_and_its_subdomains(
    api: Any, article: Any, fake_stripe: Any, url: str
) -> None:
    block_domain("example.com")
    response = api.post(CHECKOUT, body(article, targetUrl=url), format="json")
    assert_refused(
        response, "targetUrl", "Links to example.com and its subdomains are not accepted.", fake_stripe
    )


def test_a_look_alike_of_a_blocked_domain_checks_out(api: Any, article: Any) -> None:
    block_domain("example.com")
    response = api.post(CHECKOUT, body(article, targetUrl="https://notexample.com/x"), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"targetUrl": "https://www.casino-deals.com/"}, "targetUrl"),
        ({"anchorText": "best CASINO bonus"}, "anchorText"),
        ({"customerNotes": "Link it near the casino paragraph."}, "customerNotes"),
    ],
)
def test_checkout_refuses_a_blocked_niche_naming_the_field(
    api: Any, article: Any, fake_stripe: Any, overrides: dict[str, str], field: str
) -> None:
    make_niche("Gambling", "casino", "blocked")
    response = api.post(CHECKOUT, body(article, **overrides), format="json")
    assert_refused(response, field, "Links about Gambling are not accepted", fake_stripe)


def test_an_article_order_is_refused_by_its_topic(api: Any, fake_stripe: Any) -> None:
    make_niche("Gambling", "casino", "blocked")
    response = api.post(CHECKOUT, article_body(topic="Casino nights at home"), format="json")
    assert_refused(response, "topic", "the topic mentions “casino”", fake_stripe)


def test_an_article_refuses_a_niche_of_its_own(api: Any, article: Any, fake_stripe: Any) -> None:
    refuse_niche(article, make_niche("Crypto", "bitcoin"))
    response = api.post(CHECKOUT, body(article, anchorText="bitcoin wallets"), format="json")
    assert_refused(response, "anchorText", "This article does not accept links about Crypto", fake_stripe)
    other = make_published_article()
    assert api.post(CHECKOUT, body(other, anchorText="bitcoin wallets"), format="json").status_code == 201


# --- Surcharges charged through Stripe ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("niche_fields", "surcharge", "total_minor"),
    [
        ({"surcharge_percent": Decimal("15")}, "7.35", 5635),
        ({"surcharge_amount": Decimal("20")}, "20.00", 6900),
    ],
)
def test_a_surcharged_niche_is_charged_and_recorded(
    api: Any,
    article: Any,
    fake_stripe: Any,
    niche_fields: dict[str, Decimal],
    surcharge: str,
    total_minor: int,
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", **niche_fields)
    response = api.post(CHECKOUT, body(article, anchorText="bitcoin wallets"), format="json")

    assert response.status_code == 201, response.content
    total = f"{Decimal(total_minor) / 100:.2f}"
    assert response.json()["price"] == {
        "base": "49.00",
        "surcharge": surcharge,
        "total": total,
        "currency": "USD",
        "niche": "Crypto",
        "rule": "surcharge",
        "note": f"Includes a surcharge of {surcharge} USD for links about Crypto.",
    }
    (create,) = stripe_posts(fake_stripe)
    assert create.body["line_items"][0]["price_data"]["unit_amount"] == str(total_minor)
    (session,) = fake_stripe.sessions.values()
    assert session["amount_total"] == total_minor
    order = Order.objects.get()
    assert (order.amount, order.base_amount, order.surcharge_amount) == (
        Decimal(total),
        Decimal("49.00"),
        Decimal(surcharge),
    )
    assert order.policy_niche is not None
    assert (order.policy_niche_name, order.policy_rule, order.policy_niche.name) == (
        "Crypto",
        "surcharge",
        "Crypto",
    )


def test_a_link_without_surcharge_costs_the_article_price_with_its_breakdown(api: Any, article: Any) -> None:
    response = api.post(CHECKOUT, body(article), format="json")
    assert response.json()["price"]["total"] == "49.00"
    assert response.json()["price"]["surcharge"] == "0.00"
    assert Order.objects.get().policy_rule == ""


def test_a_surcharged_article_order_charges_the_article_price_plus_surcharge(
    api: Any, fake_stripe: Any
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_percent=Decimal("10"))
    response = api.post(CHECKOUT, article_body(keywords=["bitcoin basics"]), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["price"]["total"] == "218.90"
    (session,) = fake_stripe.sessions.values()
    assert session["amount_total"] == 21890


def test_an_accepted_total_that_is_no_longer_the_price_is_a_409_and_writes_nothing(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_amount=Decimal("20"))
    response = api.post(CHECKOUT, body(article, anchorText="bitcoin", acceptedTotal="49.00"), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "price_changed"
    assert "69.00 USD" in response.json()["error"]["message"]
    assert Order.objects.count() == 0 and fake_stripe.requests == []
    again = api.post(CHECKOUT, body(article, anchorText="bitcoin", acceptedTotal="69.00"), format="json")
    assert again.status_code == 201


def test_the_receipt_and_the_admin_show_the_surcharge(
    api: Any, client: Any, admin_client: Any, article: Any, fake_stripe: Any
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_percent=Decimal("15"))
    data = api.post(CHECKOUT, body(article, anchorText="bitcoin wallets"), format="json").json()
    order = Order.objects.get(pk=data["orderId"])
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent="pi_surcharge")
    assert (
        signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id)).status_code
        == 200
    )

    status = api.get(f"/api/v1/purchase/status/{order.id}", HTTP_AUTHORIZATION=f"Bearer {data['orderToken']}")
    receipt = status.json()["receipt"]
    assert receipt["amount"] == "56.35"
    assert receipt["price"]["base"] == "49.00" and receipt["price"]["surcharge"] == "7.35"
    page = client.get(f"/orders/{order.id}/?token={data['orderToken']}", follow=True).content.decode()
    section = re.search(r'<section class="receipt" id="receipt".*?</section>', page, re.S)
    assert section is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", section.group(0)).split())
    assert "Price 49.00 USD" in text
    assert "Surcharge 7.35 USD (links about Crypto)" in text
    assert "Paid 56.35 USD" in text
    admin_page = admin_client.get(f"/admin/purchases/order/{order.pk}/change/").content.decode()
    assert "Crypto" in admin_page and "7.35" in admin_page and "49.00" in admin_page


# --- The quote endpoint ------------------------------------------------------------------------------


def test_a_quote_answers_the_price_and_the_link_preview_writing_nothing(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_percent=Decimal("15"))
    response = api.post(QUOTE, body(article, anchorText="bitcoin wallets"), format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["price"]["total"] == "56.35" and answer["price"]["niche"] == "Crypto"
    assert answer["slotsLeft"] == 3
    assert answer["linkPreview"] == (
        '<a href="https://www.example-store.com/pillows" rel="sponsored">bitcoin wallets</a>'
    )
    assert Order.objects.count() == 0
    assert fake_stripe.requests == []


def test_a_quote_needs_only_the_url(api: Any, article: Any) -> None:
    response = api.post(
        QUOTE, {"articleId": article.pk, "targetUrl": "https://www.example-store.com/"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["price"]["total"] == "49.00"
    assert "your anchor text</a>" in response.json()["linkPreview"]


def test_a_quote_answers_a_refusal_as_checkout_does_writing_nothing(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    block_domain("example-store.com")
    response = api.post(QUOTE, body(article), format="json")
    assert_refused(response, "targetUrl", "Links to example-store.com", fake_stripe)


def test_a_quote_for_a_new_article_matches_its_topic(api: Any, fake_stripe: Any) -> None:
    make_niche("Gambling", "casino", "blocked")
    response = api.post(
        QUOTE,
        {"orderType": "article", "targetUrl": "https://a.example-store.com/", "topic": "Casino"},
        format="json",
    )
    assert_refused(response, "topic", "Gambling", fake_stripe)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"targetUrl": "http://localhost/x"}, "targetUrl"),
        ({"targetUrl": "https://a.example-store.com/", "articleId": 999999}, "articleId"),
        ({"targetUrl": "https://a.example-store.com/", "anchorText": "<b>"}, "anchorText"),
    ],
)
def test_a_bad_quote_is_a_400_naming_the_field(
    api: Any, article: Any, data: dict[str, Any], field: str
) -> None:
    response = api.post(QUOTE, {"articleId": article.pk, **data}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_quotes_are_rate_limited_per_client(api: Any, article: Any, settings: Any) -> None:
    settings.RATE_LIMIT_QUOTE = "2/min"
    answers = [api.post(QUOTE, body(article), format="json").status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_the_quote_endpoint_is_in_the_openapi_schema(api: Any) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/purchase/quote"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "429"}
    assert "link_refused" in operation["responses"]["400"]["description"]


# --- The buy forms, without JavaScript ---------------------------------------------------------------

FORM = {
    "orderType": "backlink",
    "targetUrl": "https://www.example-store.com/pillows",
    "anchorText": "memory foam pillows",
    "customerEmail": "buyer@example.com",
    "customerNotes": "",
}


def buy(client: Any, article: Any, **overrides: str) -> Any:
    data = {**FORM, "articleId": str(article.pk), "acceptedTotal": str(article.backlink_price), **overrides}
    return client.post(f"/articles/{article.slug}/buy/", data)


def test_the_form_shows_a_refusal_on_the_field_and_writes_nothing(
    client: Any, article: Any, fake_stripe: Any
) -> None:
    block_domain("example-store.com")
    response = buy(client, article, targetUrl="https://shop.example-store.com/x")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="targetUrl-error">Links to example-store.com and its subdomains are not accepted.' in page
    assert Order.objects.count() == 0 and fake_stripe.requests == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"anchorText": "casino tips"}, "anchorText"),
        ({"targetUrl": "https://casino.example-store.com/"}, "targetUrl"),
    ],
)
def test_the_form_refuses_a_niche_on_the_field_that_matched(
    client: Any, article: Any, overrides: dict[str, str], field: str
) -> None:
    make_niche("Gambling", "casino", "blocked")
    page = buy(client, article, **overrides).content.decode()
    assert f'id="{field}-error">Links about Gambling are not accepted' in page
    assert Order.objects.count() == 0


def test_the_form_says_an_article_refuses_a_niche(client: Any, article: Any) -> None:
    refuse_niche(article, make_niche("Crypto", "bitcoin"))
    page = buy(client, article, anchorText="bitcoin wallets").content.decode()
    assert 'id="anchorText-error">This article does not accept links about Crypto' in page
    assert Order.objects.count() == 0


def test_the_sponsored_article_form_refuses_a_niche_by_topic(client: Any) -> None:
    make_niche("Gambling", "casino", "blocked")
    data = {
        **FORM,
        "orderType": "article",
        "topic": "Casino nights",
        "keywords": "",
        "wordCount": "800",
        "acceptedTotal": "199.00",
    }
    page = client.post("/order/article/", data).content.decode()
    assert 'id="topic-error">Links about Gambling are not accepted' in page
    assert Order.objects.count() == 0


def test_the_form_shows_a_surcharge_to_confirm_before_paying_then_charges_it(
    client: Any, article: Any, fake_stripe: Any
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_amount=Decimal("20"))

    first = buy(client, article, anchorText="bitcoin wallets")
    page = first.content.decode()
    assert first.status_code == 200
    assert (
        "This link costs <strong>69.00 USD</strong>: 49.00 USD plus a surcharge of 20.00 USD for links about Crypto"
        in page
    )
    assert 'name="acceptedTotal" id="acceptedTotal" value="69.00"' in page
    assert "Confirm 69.00 USD and continue to payment" in page
    assert Order.objects.count() == 0 and fake_stripe.requests == []

    second = buy(client, article, anchorText="bitcoin wallets", acceptedTotal="69.00")
    order = Order.objects.get()
    assert second.status_code == 302 and second["Location"] == order.checkout_url
    assert fake_stripe.sessions[order.stripe_checkout_session_id]["amount_total"] == 6900


def test_a_link_without_surcharge_goes_straight_to_payment(client: Any, article: Any) -> None:
    response = buy(client, article)
    assert response.status_code == 302
    assert Order.objects.get().amount == Decimal("49.00")


def test_the_buy_form_shows_price_preview_and_loads_the_quote_script(client: Any, article: Any) -> None:
    page = client.get(f"/articles/{article.slug}/buy/").content.decode()
    assert 'data-quote-url="/api/v1/purchase/quote"' in page
    assert "/static/purchases/js/quote.js" in page and "<script>" not in page
    assert "<dt>Price</dt><dd><strong>49.00 USD</strong></dd>" in page
    assert (
        '<code id="link-preview">&lt;a href=&quot;https://www.example.com/your-page&quot; '
        "rel=&quot;sponsored&quot;&gt;your anchor text&lt;/a&gt;</code>"
    ) in page


# --- The article page and API (price, slots left, what the link will look like) ------------------------


def test_the_article_page_shows_price_slots_and_the_link_escaped(client: Any, article: Any) -> None:
    page = client.get(f"/articles/{article.slug}/").content.decode()
    assert "<strong>49.00 USD</strong>" in page
    assert "<dt>Slots left</dt><dd>3 of 3</dd>" in page
    assert "&lt;a href=&quot;https://www.example.com/your-page&quot; rel=&quot;sponsored&quot;&gt;" in page


def test_the_article_api_shows_the_link_preview(api: Any, article: Any) -> None:
    data = api.get(f"/api/v1/articles/{article.pk}/").json()
    assert (data["price"], data["slotsLeft"], data["linkRel"]) == ("49.00", 3, "sponsored")
    assert (
        data["linkPreview"]
        == '<a href="https://www.example.com/your-page" rel="sponsored">your anchor text</a>'
    )


def test_a_customer_link_in_a_published_article_is_rendered_with_rel_sponsored(client: Any, db: Any) -> None:
    body_md = (
        'Intro.\n\nSee [memory foam pillows](<https://www.example-store.com/p>){rel="sponsored"} here.\n'
    )
    article = make_published_article(body_markdown=body_md)
    page = client.get(f"/articles/{article.slug}/").content.decode()
    assert '<a href="https://www.example-store.com/p" rel="sponsored">memory foam pillows</a>' in page


# --- Review before work (issue 14 item 3): a niche's needs_approval holds the paid order too ----------


def test_a_niche_that_needs_approval_makes_the_order_wait_for_staff(api: Any, article: Any) -> None:
    make_niche("Health", "vitamins", "allowed", needs_approval=True)
    held = api.post(CHECKOUT, body(article, anchorText="daily vitamins"), format="json")
    plain = api.post(
        CHECKOUT,
        body(article, anchorText="memory foam pillows", customerEmail="c@example.com"),
        format="json",
    )
    assert Order.objects.get(pk=held.json()["orderId"]).needs_approval is True
    assert Order.objects.get(pk=plain.json()["orderId"]).needs_approval is False
