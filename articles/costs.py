"""Estimated LLM cost of a version, from token counts and the configured per-million-token prices."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

_MILLION = Decimal(1_000_000)


def estimate_cost_usd(*, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """USD, 6 decimals. The offline writer reports 0 tokens and so costs 0."""
    cost = (
        Decimal(prompt_tokens) * Decimal(settings.OPENAI_PRICE_INPUT_PER_MTOK)
        + Decimal(completion_tokens) * Decimal(settings.OPENAI_PRICE_OUTPUT_PER_MTOK)
    ) / _MILLION
    return cost.quantize(Decimal("0.000001"))
