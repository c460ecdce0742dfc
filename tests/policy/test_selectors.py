"""policy_decide: the link policy's one decision, for checkout and quotes alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from policy.selectors import policy_decide
from tests.factories import block_domain, make_niche, make_published_article, refuse_niche

pytestmark = pytest.mark.django_db


def decide(article: Any, url: str = "https://shop.example-store.com/pillows", **fields: Any) -> Any:
    return policy_decide(article=article, kind="backlink", target_url=url, **fields)


def test_a_link_no_rule_touches_is_allowed_at_the_article_price(article: Any) -> None:
    decision = decide(article, anchor_text="memory foam pillows")
    assert decision.allowed
    assert (decision.base, decision.surcharge, decision.total, decision.currency) == (
        Decimal("49.00"),
        Decimal("0"),
        Decimal("49.00"),
        "usd",
    )
    assert decision.niche is None and decision.rule == ""


@pytest.mark.parametrize(
    "url",
    ["https://example.com/x", "https://shop.example.com/x", "https://a.b.EXAMPLE.com/x"],
)
def test_a_blocked_domain_refuses_itself_and_its_subdomains(article: Any, url: str) -> None:
    block_domain("example.com")
    decision = decide(article, url)
    assert not decision.allowed
    assert (decision.field, decision.rule) == ("targetUrl", "blocked_domain")
    assert decision.reason == "Links to example.com and its subdomains are not accepted."


@pytest.mark.parametrize(
    "url", ["https://notexample.com/x", "https://example.com.evil.org/x", "https://example.co/x"]
)
def test_a_look_alike_of_a_blocked_domain_is_not_refused(article: Any, url: str) -> None:
    block_domain("example.com")
    assert decide(article, url).allowed


def test_an_international_blocked_domain_matches_its_punycode(article: Any) -> None:
    block_domain("bücher.de")
    assert not decide(article, "https://shop.xn--bcher-kva.de/").allowed


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "https://best-casino.example-store.com/"}, "targetUrl"),
        ({"anchor_text": "Online Casino bonus"}, "anchorText"),
        ({"notes": "Mention our casino please"}, "customerNotes"),
    ],
)
def test_a_blocked_niche_refuses_naming_the_field_that_matched(
    article: Any, fields: dict[str, Any], field: str
) -> None:
    make_niche("Gambling", "casino\npoker", "blocked")
    decision = decide(article, **fields)
    assert not decision.allowed
    assert decision.field == field
    assert decision.rule == "blocked"
    assert decision.reason.startswith("Links about Gambling are not accepted (")
    assert "“casino”" in decision.reason


def test_topic_and_keywords_count_for_new_articles_only(article: Any) -> None:
    make_niche("Gambling", "casino", "blocked")
    by_topic = policy_decide(
        article=None, kind="article", target_url="https://a.example-store.com/", topic="Casino nights"
    )
    by_keyword = policy_decide(
        article=None, kind="article", target_url="https://a.example-store.com/", keywords=["poker", "casino"]
    )
    assert (by_topic.allowed, by_topic.field) == (False, "topic")
    assert (by_keyword.allowed, by_keyword.field) == (False, "keywords")
    assert decide(article, topic="Casino nights").allowed  # a backlink has no topic


def test_customer_keywords_are_matched_one_by_one() -> None:
    make_niche("Gambling", "online casino", "blocked")
    decision = policy_decide(
        article=None, kind="article", target_url="https://a.example-store.com/", keywords=["online", "casino"]
    )
    assert decision.allowed


def test_a_percentage_surcharge_is_of_the_base_rounded_to_the_cent(db: Any) -> None:
    article = make_published_article(backlink_price=Decimal("49.99"))
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_percent=Decimal("12.5"))
    decision = decide(article, anchor_text="buy bitcoin")
    assert decision.allowed
    assert (decision.rule, decision.surcharge, decision.total) == (
        "surcharge",
        Decimal("6.25"),
        Decimal("56.24"),
    )
    assert decision.niche is not None and decision.niche.name == "Crypto"


def test_a_fixed_surcharge_is_added_as_it_is(article: Any) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_amount=Decimal("20"))
    decision = decide(article, anchor_text="bitcoin wallet")
    assert (decision.surcharge, decision.total) == (Decimal("20.00"), Decimal("69.00"))


def test_surcharges_never_add_up_the_largest_applies(article: Any) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_amount=Decimal("5"))
    make_niche("Finance", "wallet", "surcharge", surcharge_percent=Decimal("50"))
    decision = decide(article, anchor_text="bitcoin wallet")
    assert (decision.niche.name, decision.surcharge) == ("Finance", Decimal("24.50"))


def test_a_blocked_niche_wins_over_a_surcharge(article: Any) -> None:
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_amount=Decimal("5"))
    make_niche("Gambling", "casino", "blocked")
    assert decide(article, anchor_text="bitcoin casino").rule == "blocked"


def test_an_article_refuses_a_niche_others_accept(article: Any, db: Any) -> None:
    crypto = make_niche("Crypto", "bitcoin", "surcharge", surcharge_amount=Decimal("5"))
    other = make_published_article()
    refuse_niche(article, crypto)
    refused = decide(article, anchor_text="bitcoin")
    assert (refused.allowed, refused.rule, refused.field) == (False, "refused_by_article", "anchorText")
    assert (
        refused.reason
        == "This article does not accept links about Crypto (the anchor text mentions “bitcoin”)."
    )
    assert decide(other, anchor_text="bitcoin").allowed


def test_an_allowed_niche_is_recorded_at_the_base_price_and_can_ask_for_approval(article: Any) -> None:
    make_niche("Health", "vitamins", "allowed", needs_approval=True)
    decision = decide(article, anchor_text="vitamins")
    assert (decision.allowed, decision.rule, decision.total, decision.needs_approval) == (
        True,
        "allowed",
        Decimal("49.00"),
        True,
    )


def test_an_inactive_niche_is_ignored(article: Any) -> None:
    make_niche("Gambling", "casino", "blocked", active=False)
    assert decide(article, anchor_text="casino").allowed


def test_a_new_article_is_priced_from_the_settings(settings: Any) -> None:
    settings.ARTICLE_ORDER_PRICE, settings.ARTICLE_ORDER_CURRENCY = Decimal("199.00"), "eur"
    make_niche("Crypto", "bitcoin", "surcharge", surcharge_percent=Decimal("10"))
    decision = policy_decide(
        article=None, kind="article", target_url="https://a.example-store.com/", topic="Bitcoin"
    )
    assert (decision.base, decision.surcharge, decision.currency) == (
        Decimal("199.00"),
        Decimal("19.90"),
        "eur",
    )


def test_a_decision_takes_three_queries_however_many_rules(
    article: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        make_niche(f"Niche {n}", f"word{n}\nother{n}", "surcharge", surcharge_amount=Decimal(n + 1))
        block_domain(f"blocked{n}.com")
    with django_assert_max_num_queries(3):
        decision = decide(article, anchor_text="word7 other9")
    assert decision.surcharge == Decimal("10.00")


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "https://xn--/%ff", "not a url", "https://" + "a." * 2000 + "com/" + "x" * 5000, ""],
)
def test_weird_input_never_crashes(article: Any, url: str) -> None:
    make_niche("Gambling", "casino", "blocked")
    block_domain("example.com")
    decide(article, url, anchor_text="\udcff\x00" * 100, notes="🎰" * 2000)
