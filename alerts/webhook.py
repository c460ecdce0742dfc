"""The alert webhook adapter: one JSON POST to ``ALERT_WEBHOOK_URL``, with a timeout.

Never touches the ORM. The URL is not logged (a chat webhook's URL is its secret).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


class WebhookError(Exception):
    """The POST did not get a 2xx answer in time; the caller keeps the message owed."""


def webhook_post(url: str, payload: dict[str, Any], *, timeout: float) -> int:
    """POST ``payload`` as JSON to ``url``; returns the HTTP status (2xx). Raises ``WebhookError``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise WebhookError("ALERT_WEBHOOK_URL must be an http(s) URL")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, default=str).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "blogorder-alerts/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        raise WebhookError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status}")
    return status
