"""Asking the writer (the LLM, or the offline writer when OPENAI_API_KEY is unset), shared by every job.

Transient LLM errors (429, 5xx, timeouts, connection) wait and try again inside one call, so they
never use up a quality-check attempt; when they persist the last one is raised and RQ retries
the job. Token usage is summed over a run's attempts for the version it produces.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.conf import settings

from articles import offline_writer, openai_api
from articles.costs import estimate_cost_usd

logger = logging.getLogger(__name__)

# progress(stage, percent, attempt): what a job reports while a service runs.
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, percent: int, attempt: int) -> None:
    return None


@dataclass
class Usage:
    """Tokens spent by one job run, over all its attempts."""

    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, reply: openai_api.LLMReply) -> None:
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


def quality_failure_reason(attempts: Sequence[CheckedAttempt]) -> str:
    """The order's failure reason after the last QC attempt failed."""
    return f"Quality checks failed {len(attempts)} times. Last: {'; '.join(attempts[-1].failures)}"


def writer_name() -> str:
    return f"openai:{settings.OPENAI_MODEL}" if settings.OPENAI_API_KEY else offline_writer.OFFLINE_MODEL_NAME


def writer_ask(
    *,
    messages: Callable[[], list[dict[str, str]]],
    schema_name: str,
    schema: dict[str, Any],
    offline: Callable[[], openai_api.LLMReply],
    timeout: float | None = None,
) -> openai_api.LLMReply:
    """One writer call: ``offline()`` without an API key, else the model with transient retries.

    Transient errors wait for ``Retry-After`` or a jittered exponential backoff, capped at
    ``LLM_MAX_WAIT_SECONDS``, up to ``LLM_TRANSIENT_RETRIES`` times; then the error is raised.
    """
    if not settings.OPENAI_API_KEY:
        logger.info("using the OFFLINE writer (OPENAI_API_KEY is unset)")
        return offline()
    prompt = messages()
    retries = settings.LLM_TRANSIENT_RETRIES
    for retry in range(retries + 1):
        try:
            return openai_api.chat_json(
                messages=prompt, schema_name=schema_name, schema=schema, timeout=timeout
            )
        except openai_api.LLMUnavailable as exc:
            if retry == retries:
                raise
            backoff = settings.LLM_BACKOFF_BASE_SECONDS * min(2**retry, 30) * random.uniform(0.5, 1.5)
            wait = min(
                exc.retry_after if exc.retry_after is not None else backoff, settings.LLM_MAX_WAIT_SECONDS
            )
            logger.warning("LLM unavailable, waiting", extra={"wait_seconds": wait, "error": str(exc)})
            time.sleep(wait)
    raise AssertionError("unreachable")


class CheckedAttempt(Protocol):
    ok: bool
    failures: list[str]


A = TypeVar("A", bound=CheckedAttempt)


def attempts_run(
    *,
    ask: Callable[[list[list[str]]], openai_api.LLMReply],
    evaluate: Callable[[str], A],
    progress: Progress,
    label: str,
    log_extra: dict[str, object],
    max_attempts: int,
) -> tuple[list[A], Usage]:
    """Up to ``max_attempts`` writer calls, each fed the failures of all before; stops at the first pass.

    Returns every attempt's checked result (the last one passed, or all failed) and the tokens spent.
    """
    usage = Usage()
    attempts: list[A] = []
    for attempt in range(1, max_attempts + 1):
        progress("writing", 10 + 25 * (attempt - 1), attempt)
        reply = ask([a.failures for a in attempts])
        usage.add(reply)
        progress("quality_check", 25 + 25 * (attempt - 1), attempt)
        result = evaluate(reply.content)
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
