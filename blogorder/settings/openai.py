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
# Rate limits, 5xx and timeouts may be retried inside one QC attempt (they do not use one up):
# jittered exponential backoff from this base, or the server's Retry-After, capped. Such a retry
# sleeps in the worker, so it is off by default: an outage is waited out by rescheduling the job
# (the Outages block below).
LLM_TRANSIENT_RETRIES = env.int("LLM_TRANSIENT_RETRIES", 0)
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

# --- Outages
# A transient model error (429, 5xx, timeout, connection) ends the job try and the run is
# scheduled again (RQ's scheduler, the worker is free meanwhile) after a growing, jittered delay
# from LLM_OUTAGE_FIRST_DELAY_SECONDS up to LLM_OUTAGE_MAX_DELAY_SECONDS. The order stays
# PROCESSING ("waiting for the writing service"); the customer gets one "delayed" email once it
# has waited LLM_OUTAGE_EMAIL_AFTER_SECONDS; past LLM_OUTAGE_PATIENCE_SECONDS it fails (and the
# refund policy applies).
LLM_OUTAGE_PATIENCE_SECONDS = env.int("LLM_OUTAGE_PATIENCE_SECONDS", 24 * 3600)
LLM_OUTAGE_EMAIL_AFTER_SECONDS = env.int("LLM_OUTAGE_EMAIL_AFTER_SECONDS", 30 * 60)
LLM_OUTAGE_FIRST_DELAY_SECONDS = float(env.str("LLM_OUTAGE_FIRST_DELAY_SECONDS", "30"))
LLM_OUTAGE_MAX_DELAY_SECONDS = float(env.str("LLM_OUTAGE_MAX_DELAY_SECONDS", "900"))
# The writing service's circuit breaker (shared by all workers through Redis): after
# LLM_BREAKER_THRESHOLD transient errors in a row, calls stop for LLM_BREAKER_COOLDOWN_SECONDS
# (at most 60, so a probe runs at least once a minute); one probe call then decides whether to
# resume. Staff are emailed when it opens and when it closes. 0 turns the breaker off.
LLM_BREAKER_THRESHOLD = env.int("LLM_BREAKER_THRESHOLD", 5)
LLM_BREAKER_COOLDOWN_SECONDS = float(env.str("LLM_BREAKER_COOLDOWN_SECONDS", "60"))
