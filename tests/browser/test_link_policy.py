"""The link policy on the buy form, in the browser: the price box follows what the customer types (the
quote endpoint, through quote.js), a surcharge is shown and then charged, a refusal is said before any
payment; without JavaScript the form itself comes back with the price to confirm."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from purchases.models import Order
from tests.browser.support import DESKTOP, HEIGHT, A11yReport, Shots, fill_form, pay_in_test_mode
from tests.factories import make_niche, make_published_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

CRYPTO_URL = "https://www.example-store.com/bitcoin-wallets"


def test_the_buy_form_shows_a_surcharge_as_typed_charges_it_and_says_a_refusal(
    site: str, new_page: Callable[[], Page], shots: Callable[[str], Shots], a11y: A11yReport
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_percent=Decimal("15"))
    make_niche("Gambling", "casino", "blocked")
    article = make_published_article(title="Ten Ways to Sleep Better")
    page = new_page()
    flow = shots("link-policy")

    page.goto(f"/articles/{article.slug}/")
    expect(page.locator("#buy")).to_contain_text('rel="sponsored"')
    flow.take(page, "article")
    page.get_by_role("link", name="Buy a backlink in this article").click()

    fill_form(page, {"targetUrl": "https://best-casino.example-store.com/", "anchorText": "lucky spins"})
    expect(page.locator("#quote-status")).to_contain_text(
        "Not accepted: Links about Gambling are not accepted (the target URL mentions “casino”)."
    )
    flow.take(page, "refused")

    fill_form(
        page, {"targetUrl": CRYPTO_URL, "anchorText": "bitcoin wallets", "customerEmail": "b@example.com"}
    )
    price = page.locator("#quote-price")
    expect(price).to_contain_text("Surcharge")
    expect(price).to_contain_text("7.35 USD (links about Crypto)")
    expect(price).to_contain_text("56.35 USD")
    expect(page.locator("#link-preview")).to_have_text(
        f'<a href="{CRYPTO_URL}" rel="sponsored">bitcoin wallets</a>'
    )
    flow.take(page, "surcharge")
    a11y.scan(page, "buy backlink with a surcharge")

    page.get_by_role("button", name="Pay 56.35 USD").click()
    expect(page.get_by_text("TEST MODE — no real payment.")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("56.35 USD")
    pay_in_test_mode(page)
    receipt = page.locator("#receipt")
    expect(receipt).to_contain_text("Surcharge")
    expect(receipt).to_contain_text("56.35 USD")
    flow.take(page, "receipt")
    order = Order.objects.get()
    assert (order.amount, order.surcharge_amount, order.policy_niche_name) == (
        Decimal("56.35"),
        Decimal("7.35"),
        "Crypto",
    )


def test_without_javascript_the_form_comes_back_with_the_price_to_confirm(
    site: str, browser: Any, shots: Callable[[str], Shots]
) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_amount=Decimal("20"))
    article = make_published_article(title="Ten Ways to Sleep Better")
    context = browser.new_context(
        viewport={"width": DESKTOP, "height": HEIGHT}, base_url=site, java_script_enabled=False
    )
    try:
        page = context.new_page()
        flow = shots("link-policy-nojs")
        page.goto(f"/articles/{article.slug}/buy/")
        fill_form(
            page, {"targetUrl": CRYPTO_URL, "anchorText": "bitcoin wallets", "customerEmail": "b@example.com"}
        )
        page.get_by_role("button", name="Continue to payment").click()
        expect(page.get_by_role("alert").first).to_contain_text("This link costs 69.00 USD")
        expect(page.locator("#quote-price")).to_contain_text("20.00 USD (links about Crypto)")
        assert Order.objects.count() == 0
        flow.take(page, "confirm")
        page.get_by_role("button", name="Confirm 69.00 USD and continue to payment").click()
        expect(page.get_by_text("TEST MODE — no real payment.")).to_be_visible()
        assert Order.objects.get().amount == Decimal("69.00")
    finally:
        context.close()
