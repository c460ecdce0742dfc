"""Alerts to staff (alerts app): email to STAFF_NOTIFICATION_EMAILS and, if set, a webhook."""

from blogorder.settings.env import env

# Each alert and recovery is also POSTed here as JSON (Slack/Mattermost-style `text` included).
# Unset: email only. The URL is never logged.
ALERT_WEBHOOK_URL = env.str("ALERT_WEBHOOK_URL", "")
ALERT_WEBHOOK_TIMEOUT_SECONDS = env.int("ALERT_WEBHOOK_TIMEOUT_SECONDS", 5)
# How often the cron process (`manage.py cron`) runs the checks and logs the queue stats.
ALERT_CHECK_INTERVAL_SECONDS = env.int("ALERT_CHECK_INTERVAL_SECONDS", 60)
