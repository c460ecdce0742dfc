"""Asking a writer for a draft until one passes its checks, and what the attempts cost.

Up to ``MAX_ATTEMPTS`` replies, each told the failures of every attempt before; the first that
passes ends it. Transient errors of the model never use up an attempt (the writer retries them),
but every call comes out of one ``CallAllowance`` per run. A ``TokenBudget`` stops the run before
a call whose prompt and longest passing reply would take the order past its token cap
(``TokenCapReached``), and hears of
every reply as it comes, so tokens spent by attempts that fail their checks are counted too.
Pure of the ORM: the caller stores the result and the spend.
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
from articles.writers import CallAllowance, Writer

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


class TokenCapReached(Exception):
    """The next model call would take the order past its token cap; it was not made."""

    def __init__(self, *, spent: int, cap: int, needed: int) -> None:
        super().__init__(
            f"This order has used {spent} of its {cap} model tokens and the next draft needs about {needed} more."
        )
        self.spent, self.cap, self.needed = spent, cap, needed


@dataclass
class TokenBudget:
    """The model tokens an order may still spend: ``cap`` less what it ``spent`` before and during this run.

    ``record`` is called with every reply as it arrives (the caller stores it at once), so a run
    that later fails still has its tokens counted.
    """

    cap: int
    spent: int
    record: Callable[[LLMReply], None] = lambda reply: None

    def check(self, needed: int) -> None:
        """Raise ``TokenCapReached`` when a call of about ``needed`` tokens would pass the cap."""
        if self.spent + needed > self.cap:
            raise TokenCapReached(spent=self.spent, cap=self.cap, needed=needed)

    def spend(self, reply: LLMReply) -> None:
        self.spent += reply.prompt_tokens + reply.completion_tokens
        self.record(reply)


def draft_attempts(
    kind: DraftKind[B, D],
    brief: B,
    *,
    writer: Writer,
    progress: Progress = no_progress,
    label: str,
    log_extra: dict[str, object],
    max_attempts: int = MAX_ATTEMPTS,
    calls: CallAllowance | None = None,
    budget: TokenBudget | None = None,
) -> tuple[list[Checked[D]], Usage]:
    """Every attempt's checked result (the last one passed, or all failed) and the tokens spent.

    Each attempt is logged as ``"<label> attempt"`` with its failures and tokens, so runs that
    store no version still show what they cost. Raises ``TokenCapReached`` before an attempt
    ``budget`` cannot pay for, and the writer's ``CallCeilingReached`` once ``calls`` is used up.
    """
    usage = Usage()
    attempts: list[Checked[D]] = []
    for attempt in range(1, max_attempts + 1):
        progress("writing", 10 + 25 * (attempt - 1), attempt)
        failures = [a.failures for a in attempts]
        if budget is not None:
            budget.check(writer.tokens_needed(kind, brief, failures))
        reply = writer.ask(kind, brief, failures, calls=calls)
        usage.add(reply)
        if budget is not None:
            budget.spend(reply)
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
