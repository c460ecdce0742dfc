"""Email through Django's mail API; anymail providers in production, console by default."""

from blogorder.settings.env import env

EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", "var/emails")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "Blogorder <orders@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL = {
    "SENDGRID_API_KEY": env.str("SENDGRID_API_KEY"),
    "POSTMARK_SERVER_TOKEN": env.str("POSTMARK_SERVER_TOKEN"),
    "MAILGUN_API_KEY": env.str("MAILGUN_API_KEY"),
}
