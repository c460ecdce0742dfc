"""Spend limits: what one order may cost in model calls, tokens and emails (issue 9, "Spend").

The defaults are far above what a real customer uses; they stop abuse, not customers. README's
"Spend limits" says what happens when each is met.
"""

from blogorder.settings.env import env

# --- Spend limits -----------------------------------------------------------------------------
# Regenerations a customer may ask for on one order; then "regenerate" is no longer offered (409).
MAX_REGENERATIONS_PER_ORDER = env.int("MAX_REGENERATIONS_PER_ORDER", 50)
# Model tokens (prompt + completion, over every run, passed or failed) one order may spend. About
# 51 runs (the first and 50 regenerations) of 3 attempts at ~6.5k tokens, the size of a long
# article's prompt or reply: about 0.25 USD at gpt-4o-mini's prices.
MAX_TOKENS_PER_ORDER = env.int("MAX_TOKENS_PER_ORDER", 1_000_000)
# How many of the order's latest earlier drafts the prompt shows (all of them are still checked).
PROMPT_PREVIOUS_DRAFTS = env.int("PROMPT_PREVIOUS_DRAFTS", 3)
# Model calls one job try may make, quality attempts and transient retries together.
LLM_MAX_CALLS_PER_RUN = env.int("LLM_MAX_CALLS_PER_RUN", 6)
# At most one "revision ready" email per order in this many seconds; later drafts' emails wait
# and are folded into the newest, which the reconciler's unsent-email pass sends. 0: no limit.
REVISION_EMAIL_MIN_INTERVAL_SECONDS = env.int("REVISION_EMAIL_MIN_INTERVAL_SECONDS", 60)
