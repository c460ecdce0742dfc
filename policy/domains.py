"""Blocked target domains: one normal form for what staff type and for the hosts of target URLs.

A domain is kept as lower-case ASCII (IDNA, punycode for non-ASCII names), without scheme, port,
path, leading ``*.``/``.`` or trailing dot. It blocks itself and every subdomain: ``example.com``
blocks ``example.com`` and ``shop.example.com``, never ``notexample.com``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidDomain(ValueError):
    """What staff typed is not a domain name."""


def domain_normalize(value: str) -> str:
    """``value`` (``Example.COM``, ``https://shop.example.com/x``, ``*.bücher.de``) in normal form.

    Raises ``InvalidDomain`` with a sentence staff can act on.
    """
    text = value.strip()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError as exc:
            raise InvalidDomain("Not a domain name.") from exc
    text = text.split("/", 1)[0].split(":", 1)[0].strip().lstrip("*").strip(".")
    if not text or len(text) > 253:
        raise InvalidDomain("Enter a domain name such as example.com (no scheme or path).")
    try:
        ascii_name = text.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidDomain("Not a valid international domain name.") from exc
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidDomain("Enter a domain name such as example.com: letters, digits, hyphens and dots.")
    return ascii_name


def host_suffixes(host: str) -> list[str]:
    """``host`` and each domain above it (``a.b.com`` → ``a.b.com``, ``b.com``, ``com``), in normal form.

    Empty when ``host`` is not a valid name: nothing can then be looked up for it.
    """
    try:
        name = domain_normalize(host)
    except InvalidDomain:
        return []
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
