"""Production: a real secret key is required, cookies are secure."""

from django.core.exceptions import ImproperlyConfigured

from blogorder.settings.base import *  # noqa: F403
from blogorder.settings.base import SECRET_KEY
from blogorder.settings.env import env

if SECRET_KEY.startswith("dev-insecure") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a random value of at least 32 characters.")

SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
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
