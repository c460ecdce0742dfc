"""Production: a real secret key is required; HTTPS only (behind a TLS proxy), cookies are secure.

``manage.py check --deploy`` passes with no warning under these settings (``.ci/run`` holds it).
"""

from django.core.exceptions import ImproperlyConfigured

from blogorder.settings.base import *  # noqa: F403
from blogorder.settings.base import SECRET_KEY, logging_config
from blogorder.settings.env import env

if SECRET_KEY.startswith("dev-insecure") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a random value of at least 32 characters.")

SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", True)
# TLS ends at the proxy, which must set X-Forwarded-Proto (and drop any the client sent); a request
# that did not come over HTTPS is redirected, except the proxy's own health check.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Browsers keep to HTTPS for a year, subdomains included; turn the last two off (and accept the
# check's warning) only when a subdomain of the site is not on HTTPS.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", True)
# One JSON object a line (README "Logs"); LOG_FORMAT=text for a person reading a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", "json").lower()
LOGGING = logging_config(log_format=LOG_FORMAT)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The local test-payment page marks orders paid without money; never let it run in production by accident.
from blogorder.settings.stripe import STRIPE_LOCAL_TEST_MODE  # noqa: E402

if STRIPE_LOCAL_TEST_MODE and not env.bool("ALLOW_LOCAL_TEST_PAYMENTS", False):
    raise ImproperlyConfigured(
        "STRIPE_SECRET_KEY is unset, which turns on the local TEST MODE payment page. Set STRIPE_SECRET_KEY and "
        "STRIPE_WEBHOOK_SECRET, or ALLOW_LOCAL_TEST_PAYMENTS=1 for a staging demo."
    )
if not STRIPE_LOCAL_TEST_MODE and not env.str("STRIPE_WEBHOOK_SECRET"):
    raise ImproperlyConfigured("Set STRIPE_WEBHOOK_SECRET (the whsec_… secret of your webhook endpoint).")
