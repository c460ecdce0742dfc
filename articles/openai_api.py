"""Adapter for the OpenAI Chat Completions API (or any OpenAI-compatible server).

It never touches the ORM. Errors are sorted into two kinds the caller can act on:
``LLMUnavailable`` (rate limit, 5xx, timeout, connection: try again later) and ``LLMRejected``
(bad request, auth, refusal: trying again will not help).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, cast

import openai
from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMReply:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int


class LLMUnavailable(Exception):
    """Transient: the server is overloaded, rate-limited or unreachable."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMRejected(Exception):
    """Final: the request itself was refused; retrying the same request will not help."""


def _client() -> openai.OpenAI:
    """The process's client for the current settings (thread-safe; ``with_options`` copies share its pool).

    Building one costs ~25 ms of CPU (its TLS context loads the CA bundle), once per call before;
    now once per process and settings. A worker builds it before forking (``worker_preload``), so
    its work horses inherit it; it opens no connection until a call, so none is shared across a fork.
    """
    return _client_for(settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.OPENAI_TIMEOUT_SECONDS)


def client_preload() -> None:
    """Build the process's client now (``WORKER_PRELOAD_CALLS``), when a model is configured.

    ``client.chat.completions`` too: the SDK imports its chat resources and their reply types on
    first use (building their pydantic models), ~15-20 ms a process; a forked work horse that made
    the first call would pay it on every job.
    """
    if settings.OPENAI_API_KEY:
        _client().chat.completions  # noqa: B018 -- loads the chat resources and reply types now


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str | None, base_url: str | None, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    raw = exc.response.headers.get("retry-after")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def chat_json(
    *,
    messages: list[dict[str, str]],
    schema_name: str,
    schema: dict[str, Any],
    timeout: float | None = None,
) -> LLMReply:
    """One Chat Completions call whose reply must follow ``schema`` (structured outputs).

    ``timeout`` (seconds) overrides ``OPENAI_TIMEOUT_SECONDS`` for long answers such as whole articles.
    """
    model = settings.OPENAI_MODEL
    client = _client() if timeout is None else _client().with_options(timeout=timeout)
    try:
        completion = client.chat.completions.create(
            model=model,
            messages=cast(Any, messages),
            response_format=cast(
                Any,
                {
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "strict": True, "schema": schema},
                },
            ),
            temperature=0.7,
        )
    except openai.RateLimitError as exc:
        raise LLMUnavailable(f"rate limited: {exc}", retry_after=_retry_after(exc)) from exc
    except openai.InternalServerError as exc:
        raise LLMUnavailable(f"server error {exc.status_code}", retry_after=_retry_after(exc)) from exc
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        raise LLMUnavailable(f"connection: {exc}") from exc
    except openai.APIStatusError as exc:
        raise LLMRejected(f"HTTP {exc.status_code}: {exc.message}") from exc

    choice = completion.choices[0]
    if getattr(choice.message, "refusal", None):
        raise LLMRejected(f"model refused: {choice.message.refusal}")
    usage = completion.usage
    reply = LLMReply(
        content=choice.message.content or "",
        model=completion.model or model,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
    )
    logger.info(
        "openai completion",
        extra={
            "model": reply.model,
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
        },
    )
    return reply
