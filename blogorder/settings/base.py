"""Settings shared by every environment. Integration settings live in their own modules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from blogorder.settings.env import BASE_DIR, env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", "dev-insecure-secret-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", "Blogorder")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_rq",
    "anymail",
    "csp",
    "articles",
    "policy",
    "purchases",
    "queueing",
    "alerts",
]

MIDDLEWARE = [
    "blogorder.logs.RequestIdMiddleware",  # first: every line of the request carries its id
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # before WhiteNoise: static files carry the policy too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "blogorder.urls"
WSGI_APPLICATION = "blogorder.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=60,
        # A kept connection the server dropped (restart, failover, idle timeout) is replaced before
        # the request uses it, instead of failing that request.
        conn_health_checks=True,
    )
}
# PostgreSQL: parameters bound by the server, and each statement prepared on a kept connection once
# it has run DATABASE_PREPARE_THRESHOLD times (2), so a status poll's read or the webhook's
# statements are parsed and planned once per connection instead of on every request (README,
# "Performance (web)": PostgreSQL's CPU per status poll 0.58 -> 0.22 ms, per webhook 2.0 -> 1.4 ms).
# Behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer before 1.21),
# set DATABASE_SERVER_SIDE_BINDING=0: parameters are then bound in Django, as by default.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_SERVER_SIDE_BINDING", True
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": env.int("DATABASE_PREPARE_THRESHOLD", 2)}
    )
# Django's PostgreSQL backend with a health check that reads the socket instead of running
# SELECT 1 on every request (blogorder/postgresql/base.py).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "blogorder.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# The languages articles may be written in (ISO 639-1 code, name): the admin's choices and the
# catalog's language filter. Adding one needs no migration.
ARTICLE_LANGUAGES = [
    ("en", "English"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("it", "Italian"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("pt", "Portuguese"),
    ("sv", "Swedish"),
]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": ["blogorder.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "blogorder.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Blogorder API",
    "DESCRIPTION": "Buy a backlink in a published article, or a sponsored article, and follow the order.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Checkout and quote share each kind's one-value ``orderType``: one enum per kind, named once.
    "ENUM_NAME_OVERRIDES": {"BacklinkOrderTypeEnum": ["backlink"], "ArticleOrderTypeEnum": ["article"]},
    # The order endpoints read this token themselves (purchases.apis.OrderApi); their operations name it.
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "orderToken": {
                "type": "http",
                "scheme": "bearer",
                "description": (
                    "The `orderToken` the checkout answered with (email links carry it too), sent as "
                    "`Authorization: Bearer <orderToken>`. A missing or wrong token is the same 404 as "
                    "an unknown order."
                ),
            }
        }
    },
}

# --- Orders -------------------------------------------------------------------
# An unpaid checkout holds an article slot this long; Stripe requires >= 30 minutes.
CHECKOUT_EXPIRY_MINUTES = env.int("CHECKOUT_EXPIRY_MINUTES", 31)
# New-article orders: one price for every sponsored article (at least 0.50), in this currency.
ARTICLE_ORDER_PRICE = env.decimal("ARTICLE_ORDER_PRICE", "199.00")
ARTICLE_ORDER_CURRENCY = env.str("ARTICLE_ORDER_CURRENCY", "usd").lower()
# New-article orders wait, once paid, for staff to accept their target before any writing (a
# backlink order follows its article's own ``needs_approval`` switch).
ARTICLE_ORDERS_NEED_APPROVAL = env.bool("ARTICLE_ORDERS_NEED_APPROVAL", False)
# rel attribute put on links sold to customers ("sponsored" per search-engine guidance, or "nofollow").
SPONSORED_LINK_REL = env.str("SPONSORED_LINK_REL", "sponsored")
# Where staff notices go (order waiting for review, sold-out payment, final failures).
STAFF_NOTIFICATION_EMAILS = env.list("STAFF_NOTIFICATION_EMAILS", ["editors@localhost"])
# The conversation on an order (README "Conversation"): a message's longest text; how long new
# messages of one side wait to go out together in one email (a digest) to the other side (the
# editors' copy goes to STAFF_NOTIFICATION_EMAILS); how many of the customer's latest messages, each
# cut to how many characters, the writer is given as quoted data on the next regeneration.
ORDER_MESSAGE_MAX_CHARS = env.int("ORDER_MESSAGE_MAX_CHARS", 2000)
ORDER_MESSAGE_DIGEST_SECONDS = env.int("ORDER_MESSAGE_DIGEST_SECONDS", 300)
ORDER_MESSAGES_IN_PROMPT = env.int("ORDER_MESSAGES_IN_PROMPT", 5)
ORDER_MESSAGE_PROMPT_CHARS = env.int("ORDER_MESSAGE_PROMPT_CHARS", 600)
# Scheduled publishing: how far ahead a publish may be scheduled; a scheduled order still unpublished
# this long after its time is an incident (the cron or the maintenance worker is not running).
SCHEDULE_MAX_DAYS = env.int("SCHEDULE_MAX_DAYS", 365)
SCHEDULE_OVERDUE_ALERT_SECONDS = env.int("SCHEDULE_OVERDUE_ALERT_SECONDS", 600)
# The editors' desk (/admin/desk/): an order waiting for review longer than this is shown overdue.
REVIEW_TARGET_HOURS = env.int("REVIEW_TARGET_HOURS", 24)

# --- Limits -------------------------------------------------------------------
# Free holds and request rates (README "Limits"). A count limit is a whole number or "off"; a rate is
# DRF's format ("20/hour": per second, minute, hour or day) or "off" (load tests, benchmarks).
# Who "a client" is: REMOTE_ADDR as Django sees it. Behind a reverse proxy you trust, name the header
# it sets (e.g. X-Forwarded-For or X-Real-IP): the last address listed there is used. Leave it unset
# when clients reach the app directly, or they could choose their own address.
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER")
# Unpaid checkouts open at once (not paid, not expired, either order kind) per customer address and
# per client; one more is refused with 409 too_many_open_checkouts until one is paid or expires.
OPEN_CHECKOUTS_PER_EMAIL = env.cap("OPEN_CHECKOUTS_PER_EMAIL", 3)
OPEN_CHECKOUTS_PER_CLIENT = env.cap("OPEN_CHECKOUTS_PER_CLIENT", 5)
# How many of one article's backlink slots unpaid checkouts may hold between them. Past it a checkout
# still opens but holds nothing, so unpaid checkouts alone never sell an article out.
UNPAID_HOLDS_PER_ARTICLE = env.cap("UNPAID_HOLDS_PER_ARTICLE", 1)
# Request rates (blogorder.throttling), counted in the cache: checkouts per client and per customer
# address; regenerate and submit-for-review per client; the order status, content and versions
# endpoints (LOOKUP) per client.
RATE_LIMIT_CHECKOUT = env.rate("RATE_LIMIT_CHECKOUT", "20/hour")
RATE_LIMIT_CHECKOUT_EMAIL = env.rate("RATE_LIMIT_CHECKOUT_EMAIL", "10/hour")
RATE_LIMIT_REGENERATE = env.rate("RATE_LIMIT_REGENERATE", "30/hour")
RATE_LIMIT_SUBMIT = env.rate("RATE_LIMIT_SUBMIT", "30/hour")
RATE_LIMIT_LOOKUP = env.rate("RATE_LIMIT_LOOKUP", "120/min")
RATE_LIMIT_QUOTE = env.rate("RATE_LIMIT_QUOTE", "60/min")
# "Email me my orders" (/orders/ and POST /api/v1/purchase/lookup) per client and per address asked about.
RATE_LIMIT_ORDERS_LINK = env.rate("RATE_LIMIT_ORDERS_LINK", "10/hour")
RATE_LIMIT_ORDERS_LINK_EMAIL = env.rate("RATE_LIMIT_ORDERS_LINK_EMAIL", "3/hour")
# Customer messages (the order page and POST /api/v1/purchase/messages) per client and per order.
RATE_LIMIT_MESSAGE = env.rate("RATE_LIMIT_MESSAGE", "20/hour")
RATE_LIMIT_MESSAGE_ORDER = env.rate("RATE_LIMIT_MESSAGE_ORDER", "10/hour")
# The cache that counts them: Redis, under its own key prefix (the RQ keys share the database).
# Through Sentinel (REDIS_SENTINELS) the pool asks the sentinels for the master; LOCATION then gives
# only the database number and password.
from blogorder.settings.rq import REDIS_SENTINEL_MASTER, REDIS_SENTINELS, REDIS_URL  # noqa: E402

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "blogorder-cache",
        "OPTIONS": (
            {
                "pool_class": "blogorder.redis_client.SentinelMasterPool",
                "sentinels": REDIS_SENTINELS,
                "master_name": REDIS_SENTINEL_MASTER,
            }
            if REDIS_SENTINELS
            else {}
        ),
    }
}

# --- Content-Security-Policy ---------------------------------------------------
# Every response, admin and static files included, says where a page may load from: our own origin
# only. No inline script or style (``'unsafe-inline'`` nowhere), no image from another host (a
# tracking pixel in article text is blocked even if the sanitizer let one through), no plugins, no
# <base>, no framing; forms post to us or, after checkout, redirect to Stripe Checkout.
# One way on Django 5.2 and 6.x alike: django-csp's middleware (Django 6's own SECURE_CSP is not
# used, so both versions send the same header from the same code). ``CSP_DIRECTIVES`` has the
# shape of Django 6's SECURE_CSP, so moving to it is one assignment. The API docs pages
# (Swagger UI, Redoc: third-party bundles that inject styles and use data:/blob: URLs) add the
# few sources they need on their own views only (blogorder/urls.py, ``API_DOCS_CSP``).
CSP_SELF, CSP_NONE = "'self'", "'none'"
CSP_DIRECTIVES: dict[str, list[str]] = {
    "default-src": [CSP_SELF],
    "script-src": [CSP_SELF],
    "style-src": [CSP_SELF],
    "img-src": [CSP_SELF],
    "font-src": [CSP_SELF],
    "connect-src": [CSP_SELF],
    "object-src": [CSP_NONE],
    "base-uri": [CSP_NONE],
    "frame-ancestors": [CSP_NONE],
    "form-action": [CSP_SELF, "https://checkout.stripe.com"],
}
CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_DIRECTIVES}

# --- Logs -----------------------------------------------------------------------------
# Every line on stderr through one handler (blogorder/logs.py): "json" is one JSON object a line
# (timestamp, level, logger, message and every extra: production's default), "text" a readable
# line with the extras as key=value pairs (the default elsewhere). Each line carries its context
# (request_id, job_id, order_id, run) and no secret. Django's own loggers (requests, runserver)
# go through the same handler instead of Django's default ones.
LOG_LEVEL = env.str("LOG_LEVEL", "INFO").upper()
LOG_FORMATS = ("json", "text")


def logging_config(*, log_format: str, level: str = LOG_LEVEL) -> dict[str, Any]:
    """``LOGGING`` for ``log_format`` (``json`` or ``text``)."""
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "blogorder.logs.ContextFilter"},
            "redact": {"()": "blogorder.logs.RedactFilter"},
        },
        "formatters": {
            "json": {"()": "blogorder.logs.JsonFormatter"},
            "text": {"()": "blogorder.logs.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            # runserver: its 4xx/5xx only (the "request" line of blogorder.logs is the access log).
            "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
            "rq.worker": {"level": "INFO"},
        },
    }


LOG_FORMAT = env.str("LOG_FORMAT", "text").lower()
LOGGING = logging_config(log_format=LOG_FORMAT)

from blogorder.settings.alerts import *  # noqa: E402,F403
from blogorder.settings.email import *  # noqa: E402,F403
from blogorder.settings.openai import *  # noqa: E402,F403
from blogorder.settings.rq import *  # noqa: E402,F403
from blogorder.settings.spend import *  # noqa: E402,F403
from blogorder.settings.stripe import *  # noqa: E402,F403

# --- Staff ----------------------------------------------------------------------
# (The admin sign-in counts live in CACHES, the Redis cache of "# --- Limits" above.)
# Staff passwords: no common or all-digit ones, none like the user's name, at least 10 characters.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Admin sign-in attempts are counted by django-axes in the cache: after ADMIN_LOGIN_FAILURE_LIMIT
# failures of one username from one address, that pair is refused (429, blogorder.urls.admin_lockout)
# for ADMIN_LOGIN_COOLOFF_MINUTES. `manage.py axes_reset_ip_username <ip> <name>` lifts it early.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as django-axes asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "blogorder.admin_access.admin_lockout"
# The client address is the one every limit uses (CLIENT_IP_HEADER, "# --- Limits").
AXES_CLIENT_IP_CALLABLE = "blogorder.throttling.client_ip"
# `seed_demo` may create the admin/admin superuser only where this is on: blogorder.settings.local.
DEMO_ADMIN_DEFAULT_PASSWORD = False

# --- Order links ------------------------------------------------------------------
# An order's token (its links, the API's Bearer token) stops working this many days after the
# order was published, refunded or failed. The order page swaps a ?token= link for an HttpOnly
# cookie on the first visit and redirects to the clean address.
ORDER_TOKEN_TTL_DAYS = env.int("ORDER_TOKEN_TTL_DAYS", 90)
# While an order waits on people (the customer's choice, an editor), its open order page looks for
# news this often (order_live.js "slow" mode; faster modes back off from 1 s to 10 s on their own).
ORDER_PAGE_SLOW_POLL_SECONDS = env.int("ORDER_PAGE_SLOW_POLL_SECONDS", 30)
# The emailed link to all of an address's orders (/orders/mine/) works this many hours.
ORDER_LOOKUP_LINK_TTL_HOURS = env.int("ORDER_LOOKUP_LINK_TTL_HOURS", 24)
