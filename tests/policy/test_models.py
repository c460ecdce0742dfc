"""The policy's records: a niche's surcharge is exactly one of a percentage and a fixed amount (form and
database), keywords are kept tidy, blocked domains normalised."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from policy.models import BlockedDomain, Niche
from tests.factories import block_domain, make_niche

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("percent", "amount"),
    [(None, None), (Decimal("10"), Decimal("5.00"))],
)
def test_a_surcharge_niche_needs_exactly_one_of_percentage_and_amount(
    percent: Decimal | None, amount: Decimal | None
) -> None:
    niche = Niche(
        name="Crypto", keywords="crypto", rule="surcharge", surcharge_percent=percent, surcharge_amount=amount
    )
    with pytest.raises(ValidationError) as refused:
        niche.full_clean()
    assert "exactly one" in str(refused.value)


def test_other_rules_take_no_surcharge() -> None:
    niche = Niche(name="Crypto", keywords="crypto", rule="blocked", surcharge_amount=Decimal("5"))
    with pytest.raises(ValidationError):
        niche.full_clean()


def test_the_database_refuses_a_surcharge_with_both_or_neither() -> None:
    for percent, amount in [(None, None), (Decimal("10"), Decimal("5.00"))]:
        with pytest.raises(IntegrityError), transaction.atomic():
            Niche.objects.create(
                name="Crypto",
                keywords="crypto",
                rule="surcharge",
                surcharge_percent=percent,
                surcharge_amount=amount,
            )


def test_keywords_are_kept_one_a_line_and_must_not_be_empty_or_too_long() -> None:
    niche = make_niche("Gambling", "casino,  Poker ,\n\ncasino")
    assert niche.keywords == "casino\nPoker"
    assert niche.keyword_list == ["casino", "Poker"]
    with pytest.raises(ValidationError):
        make_niche("Empty", " , ,!!")
    with pytest.raises(ValidationError):
        make_niche("Long", "one two three four five six seven")


def test_the_rule_reads_in_words() -> None:
    assert (
        make_niche("A", "a", "surcharge", surcharge_percent=Decimal("15.00")).rule_words() == "surcharge 15%"
    )
    assert make_niche("B", "b", "surcharge", surcharge_amount=Decimal("20")).rule_words() == "surcharge 20.00"
    assert make_niche("C", "c", "blocked").rule_words() == "blocked"


def test_a_blocked_domain_is_stored_normalised_and_once() -> None:
    assert block_domain("https://WWW.Bücher.de/shop").domain == "www.xn--bcher-kva.de"
    with pytest.raises(ValidationError):
        block_domain("www.bücher.de")  # the same domain again
    with pytest.raises(ValidationError):
        block_domain("not a domain")
    assert BlockedDomain.objects.count() == 1
