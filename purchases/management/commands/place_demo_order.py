"""Place a demo order (backlink or new article) through the RUNNING system over HTTP: checkout, then a signed test webhook."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from purchases import test_mode
from purchases.gateways import payment_gateway
from purchases.models import Order


def _call(method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (our own server)
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise CommandError(f"{method} {url} answered {exc.code}: {exc.read().decode()[:500]}") from exc
    except urllib.error.URLError as exc:
        raise CommandError(f"Cannot reach {url}: {exc.reason}. Is `make run` running?") from exc


class Command(BaseCommand):
    help = "Buy a backlink (or, with --article, a new article) on the running server in local test mode and wait."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default=settings.SITE_URL)
        parser.add_argument("--article-id", type=int)
        parser.add_argument("--target-url", default="https://www.example-widgets.com/standing-desks")
        parser.add_argument("--anchor-text", default="ergonomic standing desks")
        parser.add_argument("--email", default="customer@example.com")
        parser.add_argument("--article", action="store_true", help="Order a new sponsored article instead.")
        parser.add_argument("--topic", default="How to set up a home office you enjoy working in")
        parser.add_argument("--keywords", default="standing desk,natural light,cable management")
        parser.add_argument("--word-count", type=int, default=800)
        parser.add_argument(
            "--wait", type=int, default=60, help="Seconds to wait for QUALITY_CHECK (0: do not wait)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not payment_gateway().is_local_test_mode:
            raise CommandError("STRIPE_SECRET_KEY is set: pay through real Stripe Checkout instead.")
        base = options["base_url"].rstrip("/")
        notes = "Demo order placed by place_demo_order."
        common = {
            "targetUrl": options["target_url"],
            "anchorText": options["anchor_text"],
            "customerEmail": options["email"],
            "customerNotes": notes,
        }
        if options["article"]:
            body: dict[str, Any] = {
                "orderType": "article",
                "topic": options["topic"],
                "keywords": [k.strip() for k in options["keywords"].split(",") if k.strip()],
                "wordCount": options["word_count"],
                **common,
            }
        else:
            article_id = options["article_id"]
            if article_id is None:
                available = _call("GET", f"{base}/api/v1/articles/?minSlots=1")["results"]
                if not available:
                    raise CommandError("No article with free slots. Run `python manage.py seed_demo`.")
                article_id = available[0]["id"]
            body = {"orderType": "backlink", "articleId": article_id, **common}
        checkout = _call("POST", f"{base}/api/v1/purchase/checkout", body)
        order = Order.objects.get(pk=checkout["orderId"])
        status = test_mode.deliver_event(test_mode.checkout_completed_event(order=order), base_url=base)
        self.stdout.write(f"order id:   {checkout['orderId']}")
        self.stdout.write(f"token:      {checkout['orderToken']}")
        self.stdout.write(f"webhook:    HTTP {status} (signed test event, no real payment)")
        status_url = f"{base}/api/v1/purchase/status/{checkout['orderId']}"
        self.stdout.write(f"status URL: {status_url}  (Authorization: Bearer <token>)")
        self.stdout.write(f"order page: {base}/orders/{checkout['orderId']}/?token={checkout['orderToken']}")
        deadline = time.monotonic() + options["wait"]
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = _call("GET", status_url, token=checkout["orderToken"])
            if state["status"] not in ("PENDING_PAYMENT", "PROCESSING"):
                break
            time.sleep(1)
        if state:
            self.stdout.write(
                self.style.SUCCESS(f"status:     {state['status']} (queue: {state['queue']['state']})")
            )
