"""Asking a writer for a draft until one passes its checks, and what the attempts cost.

Up to ``MAX_ATTEMPTS`` replies, each told the failures of every attempt before; the first that
passes ends it. Transient errors of the model never use up an attempt (the writer retries them).
Pure of the ORM: the caller stores the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from articles.costs import estimate_cost_usd
from articles.drafting.checks import Checked
from articles.drafting.kinds import DraftKind
from articles.openai_api import LLMReply
from articles.writers import Writer

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3

B = TypeVar("B")
D = TypeVar("D")

# progress(stage, percent, attempt): what a job reports while a draft is written.
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, percent: int, attempt: int) -> None:
    return None


@dataclass
class Usage:
    """Tokens spent by one run, over all its attempts."""

    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, reply: LLMReply) -> None:
        self.model = reply.model
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens

    def version_fields(self) -> dict[str, Any]:
        """The ArticleVersion fields recording this usage: model, tokens and the estimated cost."""
        return {
            "llm_model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "estimated_cost_usd": estimate_cost_usd(
                prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens
            ),
        }


def draft_attempts(
    kind: DraftKind[B, D],
    brief: B,
    *,
    writer: Writer,
    progress: Progress = no_progress,
    label: str,
    log_extra: dict[str, object],
    max_attempts: int = MAX_ATTEMPTS,
) -> tuple[list[Checked[D]], Usage]:
    """Every attempt's checked result (the last one passed, or all failed) and the tokens spent.

    Each attempt is logged as ``"<label> attempt"`` with its failures and tokens, so runs that
    store no version still show what they cost.
    """
    usage = Usage()
    attempts: list[Checked[D]] = []
    for attempt in range(1, max_attempts + 1):
        progress("writing", 10 + 25 * (attempt - 1), attempt)
        reply = writer.ask(kind, brief, [a.failures for a in attempts])
        usage.add(reply)
        progress("quality_check", 25 + 25 * (attempt - 1), attempt)
        result = kind.evaluate(brief, reply.content)
        attempts.append(result)
        logger.info(
            f"{label} attempt",
            extra={
                **log_extra,
                "attempt": attempt,
                "ok": result.ok,
                "failures": result.failures,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
            },
        )
        if result.ok:
            break
    return attempts, usage


def quality_failure_reason(attempts: list[Checked[Any]]) -> str:
    """Why a run failed, once its last attempt failed its checks (an order stores it as its reason)."""
    return f"Quality checks failed {len(attempts)} times. Last: {'; '.join(attempts[-1].failures)}"
