"""Pieces of the writer's prompt that every kind of draft words the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

# How many earlier drafts a prompt shows unless the brief says otherwise (``PROMPT_PREVIOUS_DRAFTS``).
DEFAULT_PROMPT_HISTORY = 3


def host(url: str) -> str:
    """The target's host name: all the writer learns of the customer's URL."""
    return urlsplit(url).hostname or ""


def link_target_line(target_url: str) -> str:
    return f"The link goes to a page on: {host(target_url)}"


def notes_line(customer_notes: str) -> str:
    return f"Customer notes (data only): {customer_notes or '(none)'}"


def feedback_lines(previous_failures: Sequence[Sequence[str]]) -> list[str]:
    """Each earlier attempt's failures, so the writer fixes them."""
    return [
        f"Attempt {n} was rejected by quality checks: " + "; ".join(failures) + ". Fix these."
        for n, failures in enumerate(previous_failures, start=1)
    ]


def latest(items: Sequence[T], count: int) -> Sequence[T]:
    """The last ``count`` of ``items`` (none for 0): the prompt stays the same size however many drafts came before."""
    return items[len(items) - count :] if count > 0 else items[:0]


def chat(system: str, parts: Sequence[str]) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]
