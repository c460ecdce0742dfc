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
