"""OpenAI (or any OpenAI-compatible server). With no OPENAI_API_KEY the offline writer is used."""

from blogorder.settings.env import env

OPENAI_API_KEY = env.str("OPENAI_API_KEY")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL") or None
OPENAI_MODEL = env.str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_TIMEOUT_SECONDS = env.int("OPENAI_TIMEOUT_SECONDS", 60)
# A whole article (up to 3,000 words) takes far longer to write than one paragraph.
OPENAI_ARTICLE_TIMEOUT_SECONDS = env.int("OPENAI_ARTICLE_TIMEOUT_SECONDS", 180)
# USD per 1M tokens, for the cost estimate shown to staff.
OPENAI_PRICE_INPUT_PER_MTOK = env.str("OPENAI_PRICE_INPUT_PER_MTOK", "0.15")
OPENAI_PRICE_OUTPUT_PER_MTOK = env.str("OPENAI_PRICE_OUTPUT_PER_MTOK", "0.60")
# Rate limits, 5xx and timeouts are retried inside one QC attempt (they do not use one up):
# jittered exponential backoff from this base, or the server's Retry-After, capped.
LLM_TRANSIENT_RETRIES = env.int("LLM_TRANSIENT_RETRIES", 4)
LLM_BACKOFF_BASE_SECONDS = float(env.str("LLM_BACKOFF_BASE_SECONDS", "1.0"))
LLM_MAX_WAIT_SECONDS = float(env.str("LLM_MAX_WAIT_SECONDS", "60"))

# --- Provider limits
# Shared by every worker on every host (counted in Redis, articles/provider_limits.py). Set them to
# your account's tier (README, "Provider limits"); off or 0 turns one off. The defaults are
# OpenAI's Tier 1 for gpt-4o-mini: 500 requests and 200,000 tokens a minute.
LLM_MAX_CONCURRENT_CALLS = env.cap("LLM_MAX_CONCURRENT_CALLS", 10)
LLM_REQUESTS_PER_MINUTE = env.cap("LLM_REQUESTS_PER_MINUTE", 500)
LLM_TOKENS_PER_MINUTE = env.cap("LLM_TOKENS_PER_MINUTE", 200_000)
# How long a job waits for its turn before giving its worker back (it is tried again later).
LLM_LIMIT_WAIT_SECONDS = float(env.str("LLM_LIMIT_WAIT_SECONDS", "5"))
