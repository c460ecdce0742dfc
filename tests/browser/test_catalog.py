"""The catalog on the home page, in the browser: a buyer fills the filter form (no script on the
page), sees how many articles match with the chosen values kept, and pages through; at 1280 and
390 px (screenshots ``catalog-*``), nothing scrolls sideways and axe finds nothing serious."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from articles.services import category_ensure
from tests.browser.support import A11yReport, Shots
from tests.factories import make_order, make_published_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def catalog() -> None:
    """24 English articles on sleep (home office), 3 German ones on balconies (garden), one sold out."""
    office = category_ensure(slug="home-office", name="Home office", description="Desks and rooms.")
    garden = category_ensure(slug="garden", name="Garden & balcony")
    category_ensure(slug="food-drink", name="Food & drink")
    for n in range(24):
        make_published_article(categories=[office], backlink_price=Decimal(40 + n))
    for n, price in enumerate(("35.00", "55.00", "65.00")):
        balcony = make_published_article(
            title=f"Kräuter auf dem Balkon, Teil {n + 1}",
            categories=[garden],
            language="de",
            backlink_price=Decimal(price),
            max_backlinks=1,
        )
    make_order(balcony)  # the dearest balcony article's one slot is held by an open checkout


def test_a_buyer_filters_the_catalog_with_the_form_and_pages_through_it(
    site: str,
    catalog: None,
    new_page: Callable[[], Page],
    shots: Callable[[str], Shots],
    a11y: A11yReport,
) -> None:
    page = new_page()
    flow = shots("catalog")
    page.goto("/")
    expect(page.locator("#result-count")).to_contain_text("27 articles found · page 1 of 2")
    assert page.locator("script").count() == 0  # the form works without JavaScript
    flow.take(page, "all")
    a11y.scan(page, "catalog")

    page.get_by_label("Garden & balcony").check()
    page.get_by_label("Language").select_option(label="German")
    page.get_by_label("Price from").fill("30")
    page.get_by_label("Price up to").fill("70")
    page.get_by_label("Min. free slots").fill("1")
    page.get_by_label("Sort").select_option(label="Price: high to low")
    page.get_by_role("button", name="Show articles").click()

    expect(page.locator("#result-count")).to_have_text("2 articles found")
    titles = page.locator(".catalog-item h2").all_inner_texts()
    assert titles == ["Kräuter auf dem Balkon, Teil 2", "Kräuter auf dem Balkon, Teil 1"]
    expect(page.get_by_label("Garden & balcony")).to_be_checked()
    expect(page.get_by_label("Home office")).not_to_be_checked()
    expect(page.get_by_label("Language")).to_have_value("de")
    expect(page.get_by_label("Price from")).to_have_value("30")
    expect(page.get_by_label("Min. free slots")).to_have_value("1")
    expect(page.get_by_label("Sort")).to_have_value("-price")
    flow.take(page, "filtered")
    a11y.scan(page, "catalog filtered")

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_role("link", name="Next →").click()
    expect(page.locator("#result-count")).to_contain_text("page 2 of 2")
    assert page.locator(".catalog-item").count() == 7
    flow.take(page, "page-2")


def test_a_filter_the_page_does_not_understand_is_shown_next_to_its_field(
    site: str, catalog: None, new_page: Callable[[], Page], shots: Callable[[str], Shots], a11y: Any
) -> None:
    page = new_page()
    page.goto("/?minPrice=80&maxPrice=20")

    expect(page.get_by_role("alert")).to_contain_text("Some filters were not understood")
    expect(page.locator("#e-max")).to_have_text("Must not be below minPrice.")
    expect(page.get_by_label("Price up to")).to_have_attribute("aria-invalid", "true")
    shots("catalog-error").take(page, "refused")
