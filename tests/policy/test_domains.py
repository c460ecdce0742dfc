"""Blocked domains' normal form (policy.domains): what staff type and the hosts of target URLs alike."""

from __future__ import annotations

import pytest

from policy.domains import InvalidDomain, domain_normalize, host_suffixes


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Example.COM", "example.com"),
        ("  example.com.  ", "example.com"),
        ("https://Shop.Example.com/path?q=1", "shop.example.com"),
        ("example.com/path", "example.com"),
        ("example.com:8080", "example.com"),
        ("*.example.com", "example.com"),
        (".example.com", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("МОСКВА.рф", "xn--80adxhks.xn--p1ai"),
    ],
)
def test_a_domain_is_kept_in_one_normal_form(typed: str, kept: str) -> None:
    assert domain_normalize(typed) == kept


@pytest.mark.parametrize(
    "typed", ["", "   ", "exa mple.com", "-bad-.com", "a" * 64 + ".com", "under_score.com", "*"]
)
def test_what_is_not_a_domain_is_refused_in_words(typed: str) -> None:
    with pytest.raises(InvalidDomain):
        domain_normalize(typed)


def test_a_host_is_looked_up_with_every_domain_above_it() -> None:
    assert host_suffixes("a.shop.Example.com") == [
        "a.shop.example.com",
        "shop.example.com",
        "example.com",
        "com",
    ]
    assert host_suffixes("exa mple.com") == []
