"""Tests: PostgreSQL and Redis from DATABASE_URL / REDIS_URL (CI), fast hashing, locmem email."""

import os
from urllib.parse import urlsplit, urlunsplit


def redis_url_for_test_process(url: str, worker: str) -> str:
    """The Redis database of one pytest-xdist process (``worker`` ``gw0``, ``gw1``…): counted down
    from ``url``'s (up when that would go below 0), as pytest-django gives each process its own
    PostgreSQL test database, so one process's ``FLUSHDB`` never empties another's queues."""
    if not worker.startswith("gw") or not worker[2:].isdigit():
        return url
    index = int(worker[2:])
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    moved = database - index if database - index >= 0 else database + index
    return urlunsplit(parts._replace(path=f"/{moved}"))


# Before base.py reads it, so every Redis setting follows. Processes a test starts inherit the
# environment, the URL already moved: the mark keeps them from moving it a second time.
_DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"  # when REDIS_URL is not set
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("TEST_REDIS_URL_MOVED_FOR") != _WORKER:
    os.environ["REDIS_URL"] = redis_url_for_test_process(os.environ.get("REDIS_URL", _DEFAULT_REDIS_URL), _WORKER)
    os.environ["TEST_REDIS_URL_MOVED_FOR"] = _WORKER

from blogorder.settings.base import *  # noqa: E402, F403
from blogorder.settings.env import env  # noqa: E402

REDIS_URL = env.str("REDIS_URL", _DEFAULT_REDIS_URL)
RQ_QUEUES = {
    "article-generation": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
    "backlink-integration": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
    "maintenance": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
}
RQ_RETRY_INTERVALS = [0, 0, 0]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "blogorder-cache",
    }
}
# Rate limits and the open-checkout caps are off; tests of a limit turn it on (tests/blogorder/test_throttling.py).
RATE_LIMIT_CHECKOUT = RATE_LIMIT_CHECKOUT_EMAIL = RATE_LIMIT_REGENERATE = "off"
RATE_LIMIT_SUBMIT = RATE_LIMIT_LOOKUP = RATE_LIMIT_QUOTE = RATE_LIMIT_ORDERS_LINK = (
    RATE_LIMIT_ORDERS_LINK_EMAIL
) = "off"
RATE_LIMIT_MESSAGE = RATE_LIMIT_MESSAGE_ORDER = "off"
OPEN_CHECKOUTS_PER_EMAIL = OPEN_CHECKOUTS_PER_CLIENT = None
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Processes a test starts (the cron process) write their emails to files the test reads.
if env.str("TEST_EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("TEST_EMAIL_FILE_PATH")
# The browser tests point the worker processes they start at the live server this way (emails' links).
SITE_URL = env.str("TEST_SITE_URL", "http://testserver").rstrip("/")
# Local TEST MODE unless a key is given. tests/conftest.py points the real stripe client at the fake
# Stripe server for every test; worker subprocesses started by the fault tests get it this way.
STRIPE_SECRET_KEY = env.str("TEST_STRIPE_SECRET_KEY")
STRIPE_API_BASE = env.str("TEST_STRIPE_API_BASE")
STRIPE_LOCAL_TEST_MODE = not STRIPE_SECRET_KEY
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
# Worker subprocesses started by the fault-injection tests get the fake OpenAI server this way.
OPENAI_API_KEY = env.str("TEST_OPENAI_API_KEY")
OPENAI_BASE_URL = env.str("TEST_OPENAI_BASE_URL") or None
OPENAI_MODEL = env.str("TEST_OPENAI_MODEL", "gpt-test")
OPENAI_TIMEOUT_SECONDS = 5
OPENAI_ARTICLE_TIMEOUT_SECONDS = 5
LLM_BACKOFF_BASE_SECONDS = 0.0
LLM_TRANSIENT_RETRIES = env.int("TEST_LLM_TRANSIENT_RETRIES", 2)
