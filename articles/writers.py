"""Writers: who writes a draft. One interface, chosen once from settings.

``get_writer()`` is the model writer (OpenAI, or any compatible server) when ``OPENAI_API_KEY``
is set, else the built-in OFFLINE writer. Services ask ``get_writer()`` and never look at the
key themselves. The choice is cached; it is dropped when a test changes a setting it depends
on (Django's ``setting_changed`` signal), so ``override_settings`` picks the other writer.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from articles import openai_api
from articles.drafting.kinds import DraftKind
from articles.offline_writer import OFFLINE_MODEL_NAME
from articles.openai_api import LLMReply
from articles.provider_limits import NO_LIMITS, ProviderBusy, ProviderLimits
from blogorder.redis_client import redis_connection

logger = logging.getLogger(__name__)

B = TypeVar("B")
# The settings get_writer() reads to choose and name the writer.
WRITER_SETTINGS = frozenset(
    {
        "OPENAI_API_KEY",
        "OPENAI_MODEL",
        "REDIS_URL",
        "REDIS_SENTINELS",
        "LLM_MAX_CONCURRENT_CALLS",
        "LLM_REQUESTS_PER_MINUTE",
        "LLM_TOKENS_PER_MINUTE",
        "LLM_LIMIT_WAIT_SECONDS",
    }
)
# A call's lease outlives its timeout by this much, so only a dead worker's permit expires.
LEASE_MARGIN_SECONDS = 10


class Writer(Protocol):
    """Writes one reply for a brief of some kind, told the failures of the attempts before."""

    @property
    def name(self) -> str:
        """Who wrote it, as the QC report records it."""
        ...

    def ask(
        self,
        kind: DraftKind[B, Any],
        brief: B,
        failures: Sequence[Sequence[str]],
        *,
        calls: CallAllowance | None = None,
    ) -> LLMReply: ...

    def tokens_needed(self, kind: DraftKind[B, Any], brief: B, failures: Sequence[Sequence[str]]) -> int:
        """About the most one ``ask`` spends: its prompt and the longest passing reply (0 with no model)."""
        ...


class CallCeilingReached(Exception):
    """The job try has made its ``LLM_MAX_CALLS_PER_RUN`` model calls; nothing more is asked in it."""


@dataclass
class CallAllowance:
    """The model calls one job try may still make, quality attempts and transient retries together.

    One allowance is shared by every ``ask`` of a try, so a model that keeps failing costs at most
    ``left`` calls per try whatever the retry and attempt settings multiply to.
    """

    left: int

    def take(self) -> None:
        """Spend one call, or raise ``CallCeilingReached`` when none is left."""
        if self.left <= 0:
            raise CallCeilingReached(
                "this job try has made as many model calls as LLM_MAX_CALLS_PER_RUN allows"
            )
        self.left -= 1


def estimate_tokens(messages: Sequence[dict[str, str]]) -> int:
    """About one token per 4 characters, plus a few per message: the size of a prompt before it is sent."""
    return sum(4 + -(-len(m.get("content", "")) // 4) for m in messages) + 3


@dataclass(frozen=True)
class ModelWriter:
    """The language model behind ``articles.openai_api``, with transient errors retried.

    Transient errors (429, 5xx, timeouts, connection) wait for ``Retry-After`` or a jittered
    exponential backoff, capped at ``LLM_MAX_WAIT_SECONDS``, up to ``LLM_TRANSIENT_RETRIES``
    times, so they never use up a quality-check attempt; then the last one is raised (the job's
    RQ retry takes over). ``LLMRejected`` is raised at once. Every call, retries included, is taken
    from ``calls`` (the try's allowance): when it runs out after a transient error, that error is
    raised at once; before a first call, ``CallCeilingReached``.

    Each call holds a permit of ``limits``, the provider limits every worker shares; when none
    frees up within a few seconds, ``ProviderBusy`` (an ``LLMUnavailable``) is raised at once,
    without the in-job retries, so the job gives its worker back and is tried again later.
    """

    model: str
    limits: ProviderLimits = NO_LIMITS

    @property
    def name(self) -> str:
        return f"openai:{self.model}"

    def tokens_needed(self, kind: DraftKind[B, Any], brief: B, failures: Sequence[Sequence[str]]) -> int:
        return estimate_tokens(kind.messages(brief, failures)) + kind.reply_tokens(brief)

    def ask(
        self,
        kind: DraftKind[B, Any],
        brief: B,
        failures: Sequence[Sequence[str]],
        *,
        calls: CallAllowance | None = None,
    ) -> LLMReply:
        prompt = kind.messages(brief, failures)
        timeout = settings.OPENAI_ARTICLE_TIMEOUT_SECONDS if kind.whole_article else None
        retries = settings.LLM_TRANSIENT_RETRIES
        calls = calls if calls is not None else CallAllowance(left=settings.LLM_MAX_CALLS_PER_RUN)
        tokens = estimate_tokens(prompt) + kind.reply_tokens(
            brief
        )  # tokens_needed, on the prompt built above
        lease = (timeout or settings.OPENAI_TIMEOUT_SECONDS) + LEASE_MARGIN_SECONDS
        calls.take()
        for retry in range(retries + 1):
            try:
                with self.limits.call(tokens=tokens, lease_seconds=lease) as permit:
                    reply = openai_api.chat_json(
                        messages=prompt, schema_name=kind.schema_name, schema=kind.schema, timeout=timeout
                    )
                    permit.spent(reply.prompt_tokens + reply.completion_tokens)
                    return reply
            except openai_api.LLMUnavailable as exc:
                if retry == retries or calls.left <= 0 or isinstance(exc, ProviderBusy):
                    raise
                calls.take()
                backoff = settings.LLM_BACKOFF_BASE_SECONDS * min(2**retry, 30) * random.uniform(0.5, 1.5)
                wait = min(
                    exc.retry_after if exc.retry_after is not None else backoff, settings.LLM_MAX_WAIT_SECONDS
                )
                logger.warning("LLM unavailable, waiting", extra={"wait_seconds": wait, "error": str(exc)})
                time.sleep(wait)
        raise AssertionError("unreachable")


class OfflineWriter:
    """The built-in OFFLINE writer (``articles.offline_writer``): no language model, no network."""

    name = OFFLINE_MODEL_NAME

    def tokens_needed(self, kind: DraftKind[B, Any], brief: B, failures: Sequence[Sequence[str]]) -> int:
        return 0

    def ask(
        self,
        kind: DraftKind[B, Any],
        brief: B,
        failures: Sequence[Sequence[str]],
        *,
        calls: CallAllowance | None = None,
    ) -> LLMReply:
        logger.info("using the OFFLINE writer (OPENAI_API_KEY is unset)")
        return kind.offline(brief)


@functools.cache
def get_writer() -> Writer:
    """The writer for this process: the model when ``OPENAI_API_KEY`` is set, else the offline one.

    The model writer is built with the provider limits of settings, counted in the app's Redis.
    """
    if settings.OPENAI_API_KEY:
        limits = ProviderLimits(
            connection=redis_connection(),
            max_concurrent=settings.LLM_MAX_CONCURRENT_CALLS,
            requests_per_window=settings.LLM_REQUESTS_PER_MINUTE,
            tokens_per_window=settings.LLM_TOKENS_PER_MINUTE,
            wait_seconds=settings.LLM_LIMIT_WAIT_SECONDS,
            prefix=f"provider-limits:{settings.OPENAI_BASE_URL or 'openai'}:",
        )
        return ModelWriter(model=settings.OPENAI_MODEL, limits=limits)
    return OfflineWriter()


@receiver(setting_changed)
def _writer_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in WRITER_SETTINGS:
        get_writer.cache_clear()
