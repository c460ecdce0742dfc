"""The receipt: what was paid, when, its reference, and Stripe's receipt page, on the order page and in the
status API; fetched from Stripe (the PaymentIntent's latest charge) by a real worker after payment."""

from __future__ import annotations

import re
from typing import Any

import django_rq
import pytest
from rq import SimpleWorker

from purchases.models import Order
from purchases.services.payments import RECEIPT_QUEUE, order_receipt_fetch
from tests.conftest import signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def run_maintenance_worker() -> None:
    """A real RQ worker over the queue the receipt job goes to, until it is empty."""
    queue = django_rq.get_queue(RECEIPT_QUEUE)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def paid_at_stripe(api: Any, article: Any, fake_stripe: Any) -> tuple[Order, str]:
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent="pi_receipt")
    assert (
        signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id)).status_code
        == 200
    )
    return order, token


def receipt_section(client: Any, order: Order, token: str) -> str:
    page = client.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()
    found = re.search(r'<section class="receipt" id="receipt".*?</section>', page, re.S)
    return found.group(0) if found else ""


def intent_reads(fake_stripe: Any) -> list[Any]:
    return [r for r in fake_stripe.requests if r.path.startswith("/v1/payment_intents/")]


def test_an_unpaid_order_has_no_receipt(api: Any, client: Any, article: Any) -> None:
    order, token = make_order(article)

    assert api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["receipt"] is None
    assert receipt_section(client, order, token) == ""


def test_a_stripe_payment_shows_amount_date_reference_and_stripes_receipt(
    api: Any, client: Any, article: Any, fake_stripe: Any
) -> None:
    order, token = paid_at_stripe(api, article, fake_stripe)

    run_maintenance_worker()

    order.refresh_from_db()
    charge_url = fake_stripe.charges["pi_receipt"]["receipt_url"]
    assert order.receipt_url == charge_url and charge_url.startswith("https://pay.stripe.com/receipts/")
    (read,) = intent_reads(fake_stripe)
    assert read.body["expand"] == ["latest_charge"]  # one call, the charge inlined
    receipt = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["receipt"]
    assert order.paid_at is not None
    assert receipt == {
        "amount": "49.00",
        "currency": "USD",
        "paidAt": order.paid_at.isoformat().replace("+00:00", "Z"),
        "reference": "pi_receipt",
        "receiptUrl": charge_url,
        "testMode": False,
        "price": {
            "base": "49.00",
            "surcharge": "0.00",
            "total": "49.00",
            "currency": "USD",
            "niche": None,
            "rule": "",
            "note": "",
        },
    }
    section = receipt_section(client, order, token)
    assert "49.00 USD" in section
    assert f"{order.paid_at:%H:%M} UTC" in section
    assert "<code>pi_receipt</code>" in section
    assert f'<a href="{charge_url}" rel="noopener noreferrer" target="_blank">Stripe receipt</a>' in section


def test_the_receipt_is_fetched_once_however_often_the_job_runs(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    order, _ = paid_at_stripe(api, article, fake_stripe)
    run_maintenance_worker()

    assert order_receipt_fetch(order_id=order.id) == "unchanged"
    assert len(intent_reads(fake_stripe)) == 1


def test_a_receipt_url_that_is_not_https_is_never_linked(
    api: Any, client: Any, article: Any, fake_stripe: Any
) -> None:
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id, payment_intent="pi_plain")
    fake_stripe.charges["pi_plain"]["receipt_url"] = "javascript:alert(1)"
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))

    run_maintenance_worker()

    order.refresh_from_db()
    assert order.receipt_url == ""
    assert (
        api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["receipt"]["receiptUrl"] is None
    )
    section = receipt_section(client, order, token)
    assert "javascript:" not in section and "Stripe receipt</a>" not in section
    assert "not available here yet" in section


def test_stripe_down_leaves_the_receipt_without_a_link_and_the_order_as_it_was(
    api: Any, article: Any, fake_stripe: Any
) -> None:
    from purchases.gateways import PaymentGatewayUnavailable

    order, _ = paid_at_stripe(api, article, fake_stripe)
    fake_stripe.fail_next(503, headers={"Stripe-Should-Retry": "false"})

    with pytest.raises(PaymentGatewayUnavailable):
        order_receipt_fetch(order_id=order.id)  # the job raises, so RQ retries it

    order.refresh_from_db()
    assert order.receipt_url == "" and order.status == "PROCESSING"


def test_a_test_mode_payment_says_so_and_links_no_receipt(
    client: Any, api: Any, live_server: Any, settings: Any, article: Any, local_test_payments: Any
) -> None:
    settings.SITE_URL = live_server.url
    order, token = make_order(article)
    paid = client.post(f"/purchase/test-checkout/{order.stripe_checkout_session_id}/")
    assert paid.status_code == 302 and "paid=1" in paid["Location"]  # lands on the order page

    run_maintenance_worker()

    receipt = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["receipt"]
    assert receipt["testMode"] is True and receipt["receiptUrl"] is None
    assert receipt["reference"].startswith("pi_test_local_")
    section = receipt_section(client, order, token)
    assert "This was a test-mode payment: no money moved" in section
    assert "Stripe receipt</a>" not in section
    assert local_test_payments.requests == []  # Stripe was never asked
