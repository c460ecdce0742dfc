"""Keyword matching for the link policy: pure functions, no database.

The rule (README "Link policy"): a niche keyword matches when its words appear in the text as
whole words, in the same order and next to each other, ignoring case. Text and keywords are
normalised the same way first: Unicode NFKC (full-width letters, ligatures and the like become
their plain forms), then case-folded (``Straße`` matches ``strasse``). A *word* is a run of
letters and digits in any script; everything else (spaces, punctuation, hyphens, underscores,
dots, slashes) separates words. So ``casino`` matches "Casino bonus", "best-casino.com" and
"/online_casino/", but not "casinos" or "mycasino"; ``payday loan`` matches "Payday-Loan" but not
"payday loans". Accents count: ``cafe`` does not match "café".

A URL is matched on its host (punycode shown as Unicode, so ``xn--80adxhks.xn--p1ai`` matches
``москва``) and its path (percent-escapes decoded); not on its query or fragment.

Hostile input never costs more than a bounded amount of work: each text is cut at
``MAX_TEXT_CHARS`` characters and ``MAX_TEXT_WORDS`` words before matching, keywords have at most
``MAX_KEYWORD_WORDS`` words, and a text's phrases are put in a set once, so looking a keyword up
is a set lookup. No keyword is ever turned into a regular expression.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from urllib.parse import unquote, urlsplit

MAX_TEXT_CHARS = 5000
MAX_TEXT_WORDS = 1500
MAX_KEYWORD_WORDS = 6
MAX_KEYWORD_CHARS = 100
# Letters and digits of any script; ``_`` is a word character for ``\w`` but separates words here.
_WORD = re.compile(r"[^\W_]+")

Phrases = frozenset[tuple[str, ...]]


def words(text: str) -> tuple[str, ...]:
    """The normalised words of ``text`` (NFKC, case-folded), at most ``MAX_TEXT_WORDS`` of them."""
    folded = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).casefold()
    found: list[str] = []
    for match in _WORD.finditer(folded):
        found.append(match.group())
        if len(found) >= MAX_TEXT_WORDS:
            break
    return tuple(found)


def keyword_words(keyword: str) -> tuple[str, ...]:
    """A keyword's words, normalised as texts are; empty when it has none (it then matches nothing)."""
    return words(keyword[:MAX_KEYWORD_CHARS])[:MAX_KEYWORD_WORDS]


def phrases(text: str) -> Phrases:
    """Every run of 1 to ``MAX_KEYWORD_WORDS`` consecutive words of ``text``."""
    ws = words(text)
    return frozenset(
        ws[start : start + size]
        for start in range(len(ws))
        for size in range(1, MAX_KEYWORD_WORDS + 1)
        if start + size <= len(ws)
    )


def url_text(url: str) -> str:
    """The part of ``url`` keywords are matched against: host (IDNA decoded) and path (unescaped).

    Never raises: a URL that cannot be split is matched as it is written.
    """
    try:
        parts = urlsplit(url[:MAX_TEXT_CHARS])
        host = parts.hostname or ""
    except ValueError:
        return url[:MAX_TEXT_CHARS]
    return f"{host_unicode(host)} {unquote(parts.path, errors='replace')}"


def host_unicode(host: str) -> str:
    """``host`` with punycode labels shown as Unicode; a label that does not decode stays as written."""
    labels = []
    for label in host.split("."):
        if label.lower().startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def split_keywords(value: str) -> list[str]:
    """Staff's keyword list (one a line, or separated by commas): trimmed, empty ones and repeats dropped."""
    seen: set[tuple[str, ...]] = set()
    kept: list[str] = []
    for raw in re.split(r"[,\n]", value):
        keyword = " ".join(raw.split())
        key = keyword_words(keyword)
        if key and key not in seen:
            seen.add(key)
            kept.append(keyword)
    return kept


def first_match(keywords: list[str], text_phrases: Phrases) -> str | None:
    """The first of ``keywords`` whose words appear in ``text_phrases``, or None."""
    for keyword in keywords:
        key = keyword_words(keyword)
        if key and key in text_phrases:
            return keyword
    return None
