"""Quality checks: small named checks over a draft, and the ones every kind of draft shares.

A check is a name, a test and the message fed back to the writer when the test fails
(``"<name>: <message>"``). A kind of draft (``backlink.py``, ``article.py``) lists its checks
in the order they run: its own, and the shared ``WRITING_CHECKS`` (on the text as the writer
wrote it, ``[[mark]]`` unfilled) and ``LINK_CHECKS`` (on the text with the link filled in).
A check added to one of those two lists runs for every kind.

Thresholds shared by every kind (documented in README, "Quality checks"):
- model chatter / placeholders: the phrases in ``CHATTER_PATTERNS``, except those the customer's
  own words match;
- no raw HTML tag or comment, no URL written by the model, the mark exactly once and no other
  ``[[...]]`` mark, and after filling exactly one link to the target with the anchor and ``rel``;
- no image and no link of the writer's own in any Markdown form (inline, autolink, by reference,
  a bare reference definition), whatever its URL: relative (``/x``), protocol-relative
  (``//host/x``) or absolute. The only link is the customer's, which the server writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

from articles.content import Link, link_syntax, normalize_href

CHATTER_PATTERNS = [
    r"\bas an ai\b", r"\blanguage model\b", r"^\s*(sure|certainly|of course|okay|ok)\b[,!.]",
    r"\bhere(?:'s| is) (?:the|your|a) (?:revised|updated|new|rewritten)\b", r"\bi (?:have|'ve) (?:added|inserted|included)\b",
    r"\blet me know\b", r"\bhope this helps\b", r"\bparagraph_index\b", r"```", r"\blorem ipsum\b",
    r"\b(?:TODO|TBD|FIXME|XXX)\b", r"\[(?:insert|your|link|anchor|placeholder)[^\]]*\]", r"\{\{|\}\}",
    r"<\s*(?:anchor|link|url)\s*>", r"\bplaceholder\b", r"\{\s*rel\s*=",
]  # fmt: skip
CHATTER = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in CHATTER_PATTERNS]
RAW_HTML = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9-]*(\s[^>]*)?/?>|<!--")
WRITTEN_URL = re.compile(r"https?://|\bwww\.[a-z0-9-]+\.", re.IGNORECASE)
_ANY_MARK = re.compile(r"\[\[([^\[\]]*)\]\]")


class Brief(Protocol):
    """What every brief tells the checks: the customer's link and their own words."""

    @property
    def anchor_text(self) -> str: ...
    @property
    def target_url(self) -> str: ...
    @property
    def rel(self) -> str: ...
    @property
    def own_words(self) -> str:
        """The customer's own phrases: chatter patterns they match are not held against the writer."""
        ...


class Drafted(Protocol):
    """What the shared checks read from a draft of any kind."""

    @property
    def brief(self) -> Brief: ...
    @property
    def unit(self) -> str:
        """What the writer wrote, in the messages: "paragraph" or "body"."""
        ...

    @property
    def text(self) -> str:
        """The writer's Markdown as written, the ``[[mark]]`` unfilled."""
        ...

    @property
    def title(self) -> str:
        """The writer's title ("" when the kind has none)."""
        ...

    @property
    def links(self) -> Sequence[Link]:
        """The links once the mark is filled: of the whole article, or of the body for new articles."""
        ...


D = TypeVar("D")
D_contra = TypeVar("D_contra", contravariant=True)


def _always(draft: Any) -> bool:
    return True


@dataclass(frozen=True)
class Check(Generic[D_contra]):
    """One named quality check. ``applies`` says whether it runs for a draft at all (else no entry)."""

    name: str
    test: Callable[[D_contra], bool]
    message: Callable[[D_contra], str]
    applies: Callable[[D_contra], bool] = _always

    def failure(self, draft: D_contra) -> str:
        """What the writer is told: ``"<name>: <message>"``, or the bare name when there is no message."""
        text = self.message(draft)
        return f"{self.name}: {text}" if text else self.name

    def reworded(self, message: str | Callable[[Any], str]) -> Check[D_contra]:
        """The same check with a kind's own wording of its message."""
        return replace(self, message=_as_message(message))


def _as_message(message: str | Callable[[Any], str]) -> Callable[[Any], str]:
    if isinstance(message, str):
        return lambda draft: message
    return message


def check(
    name: str, message: str | Callable[[Any], str], *, applies: Callable[[Any], bool] = _always
) -> Callable[[Callable[[D], bool]], Check[D]]:
    """Make the decorated test a ``Check`` called ``name``; ``message`` may read the draft.

    The draft type comes from the test's annotation, so a message reading the draft is a lambda.
    """

    def make(test: Callable[[D], bool]) -> Check[D]:
        return Check(name=name, test=test, message=_as_message(message), applies=applies)

    return make


def reworded(
    checks: Iterable[Check[D]], wording: dict[str, str | Callable[[Any], str]]
) -> tuple[Check[D], ...]:
    """``checks`` with the messages named in ``wording`` replaced: a kind's phrasing, same tests."""
    return tuple(c.reworded(wording[c.name]) if c.name in wording else c for c in checks)


@dataclass
class Checked(Generic[D]):
    """One attempt's outcome. ``draft`` is None when the reply could not be placed at all.

    ``checks`` maps each check that ran to "pass" or "fail"; ``failures`` holds the messages fed
    back to the writer; ``details`` are the kind's per-attempt fields of the QC report.
    """

    draft: D | None
    failures: list[str]
    checks: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.draft is not None and not self.failures


def run_checks(checks: Sequence[Check[D]], draft: D, *, details: dict[str, Any]) -> Checked[D]:
    """Run every applicable check in order; all run, so the writer hears every failure at once."""
    outcomes: dict[str, str] = {}
    failures: list[str] = []
    for each in checks:
        if not each.applies(draft):
            continue
        passed = each.test(draft)
        outcomes[each.name] = "pass" if passed else "fail"
        if not passed:
            failures.append(each.failure(draft))
    return Checked(draft=draft, failures=failures, checks=outcomes, details=details)


def link_mark_ok(text: str, anchor: str) -> bool:
    """Exactly one ``[[anchor]]`` mark with the exact anchor text, and no other ``[[...]]``."""
    return _ANY_MARK.findall(text) == [anchor]


def chatter_in(text: str, *, exempt: str = "") -> list[str]:
    """The ``CHATTER_PATTERNS`` found in ``text``, except those the customer's own words (``exempt``) match."""
    return [p.pattern for p in CHATTER if p.search(text) and not (exempt and p.search(exempt))]


def links_to_target(draft: Drafted) -> list[Link]:
    target = normalize_href(draft.brief.target_url)
    return [link for link in draft.links if link.href == target]


# --- The shared checks, in the order every kind runs them -----------------------------------------


@check(
    "link_mark",
    lambda d: f"the {d.unit} must contain [[{d.brief.anchor_text}]] exactly once and no other [[...]] mark",
)
def link_mark(draft: Drafted) -> bool:
    return link_mark_ok(draft.text, draft.brief.anchor_text)


@check("no_raw_html", "HTML tags are not allowed")
def no_raw_html(draft: Drafted) -> bool:
    return not RAW_HTML.search(draft.text) and not RAW_HTML.search(draft.title)


@check("no_urls", "do not write URLs, only the [[mark]]")
def no_urls(draft: Drafted) -> bool:
    return not WRITTEN_URL.search(draft.text) and not WRITTEN_URL.search(draft.title)


@check(
    "no_images_or_links",
    "write no image, link or link reference ([text](...), ![...](...), <...>, [label]: ...); "
    "the [[mark]] is the only link",
)
def no_images_or_links(draft: Drafted) -> bool:
    # A tracking image such as ![x](//evil.example/t.gif) has no http(s):// for no_urls to see.
    anchor = draft.brief.anchor_text
    unmarked = draft.text.replace(f"[[{anchor}]]", anchor)
    return not link_syntax(unmarked) and not link_syntax(draft.title)


@check("no_chatter", "remove assistant chatter or placeholders")
def no_chatter(draft: Drafted) -> bool:
    # The customer's own anchor and words may look like chatter ("your", "insert", "language model").
    anchor = draft.brief.anchor_text
    unmarked = draft.text.replace(f"[[{anchor}]]", anchor)
    written = "\n\n".join(part for part in (draft.title, unmarked) if part)
    return not chatter_in(written, exempt=draft.brief.own_words)


@check(
    "link_once",
    lambda d: (
        f"the article must link to the customer's page exactly once with the text '{d.brief.anchor_text}'"
    ),
)
def link_once(draft: Drafted) -> bool:
    to_target = links_to_target(draft)
    return (
        len(to_target) == 1
        and to_target[0].text == draft.brief.anchor_text
        and to_target[0].rel == draft.brief.rel
    )


WRITING_CHECKS: tuple[Check[Drafted], ...] = (link_mark, no_raw_html, no_urls, no_images_or_links, no_chatter)
LINK_CHECKS: tuple[Check[Drafted], ...] = (link_once,)
