"""``place_demo_order`` drives the running server over HTTP, for both kinds of order."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from purchases.models import Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(("flag", "kind"), [((), Order.Kind.BACKLINK), (("--article",), Order.Kind.ARTICLE)])
def test_a_demo_order_is_paid_and_the_worker_writes_its_draft(
    live_server: Any,
    settings: Any,
    article: Any,
    run_worker: Any,
    local_test_payments: Any,
    flag: tuple[str, ...],
    kind: str,
) -> None:
    settings.SITE_URL = live_server.url
    out = StringIO()
    call_command("place_demo_order", *flag, "--base-url", live_server.url, "--wait", "0", stdout=out)
    order = Order.objects.get()
    assert (order.kind, order.status) == (kind, OrderStatus.PROCESSING)
    assert "webhook:    HTTP 200" in out.getvalue()
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
