"""Tests: PostgreSQL and Redis from DATABASE_URL / REDIS_URL (CI), fast hashing, locmem email."""

from blogorder.settings.base import *  # noqa: F403
from blogorder.settings.env import env

REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6379/15")
RQ_QUEUES = {
    "article-generation": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
    "backlink-integration": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
    "maintenance": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120},
}
RQ_RETRY_INTERVALS = [0, 0, 0]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"
STRIPE_SECRET_KEY = ""
STRIPE_LOCAL_TEST_MODE = True
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
# Worker subprocesses started by the fault-injection tests get the fake OpenAI server this way.
OPENAI_API_KEY = env.str("TEST_OPENAI_API_KEY")
OPENAI_BASE_URL = env.str("TEST_OPENAI_BASE_URL") or None
OPENAI_MODEL = env.str("TEST_OPENAI_MODEL", "gpt-test")
OPENAI_TIMEOUT_SECONDS = 5
OPENAI_ARTICLE_TIMEOUT_SECONDS = 5
LLM_BACKOFF_BASE_SECONDS = 0.0
LLM_TRANSIENT_RETRIES = 2
