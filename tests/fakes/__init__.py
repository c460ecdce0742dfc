"""Local fake HTTP servers standing in for third-party APIs in tests (stdlib only)."""

from .alert_webhook import FakeAlertWebhook
from .openai_server import FakeOpenAI, Reply, openai_error
from .stripe_server import FakeStripe, RecordedRequest, parse_stripe_form, sign_stripe_payload

__all__ = [
    "FakeAlertWebhook",
    "FakeOpenAI",
    "FakeStripe",
    "RecordedRequest",
    "Reply",
    "openai_error",
    "parse_stripe_form",
    "sign_stripe_payload",
]
