"""Issue 11, live progress: the order page hands its own script (order_live.js) what it needs to
follow the order (README "The live order page"), refreshes itself only without JavaScript, is
never stored, and the TEST MODE payment page lands on it.

Through Django's test client and the real middleware; the script itself runs in the browser tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from purchases.models import Order, OrderStatus
from purchases.selectors import QUEUE_STAGE_WORDS, queue_stage_words
from purchases.services.failures import order_fail
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order, make_published_article

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)
NOSCRIPT = re.compile(r"<noscript>.*?</noscript>", re.I | re.S)
REFRESH = re.compile(r"<meta[^>]+http-equiv=\"refresh\"", re.I)


def root_data(html: str) -> dict[str, str]:
    """The ``data-`` attributes of the page's root element, ``#order``."""
    tag = re.search(r"<div id=\"order\"([^>]*)>", html)
    assert tag, "no #order root on the page"
    return dict(re.findall(r"data-([a-z-]+)=\"([^\"]*)\"", tag.group(1)))


def open_page(client: Client, order: Order, token: str, query: str = "") -> Any:
    """The customer's browser on the link from an email (the token is swapped for the cookie)."""
    return client.get(f"/orders/{order.id}/?token={token}{query}", follow=True)


@pytest.mark.django_db
def test_the_page_gives_its_script_the_status_address_and_a_token_that_works_there(
    client: Client, api: Any
) -> None:
    order, token = make_order(make_published_article())

    page = open_page(client, order, token)

    data = root_data(page.content.decode())
    assert data["order-id"] == str(order.id)
    assert data["status"] == OrderStatus.PENDING_PAYMENT
    assert data["status-url"] == f"/api/v1/purchase/status/{order.id}"
    assert data["token"] == token
    answer = api.get(data["status-url"], HTTP_AUTHORIZATION=f"Bearer {data['token']}")
    assert answer.status_code == 200 and answer.json()["orderId"] == str(order.id)


@pytest.mark.django_db
def test_the_page_carrying_the_token_is_never_stored(client: Client) -> None:
    order, token = make_order(make_published_article())

    page = open_page(client, order, token)

    cache_control = {part.strip() for part in page["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control
    assert page.redirect_chain, "the token link is answered with a redirect first"


@pytest.mark.django_db
def test_the_script_is_a_deferred_static_file_and_nothing_on_the_page_is_inline(
    client: Client, settings: Any
) -> None:
    order, token = make_order(make_published_article())

    html = open_page(client, order, token).content.decode()

    tags = SCRIPT_TAG.findall(html)
    assert tags == ['<script src="/static/purchases/js/order_live.js" defer>']
    settings.WHITENOISE_USE_FINDERS = True  # WhiteNoise serves the app's static files, as under runserver
    script = Client().get("/static/purchases/js/order_live.js")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    body = script.getvalue().decode()  # WhiteNoise streams the file
    assert "visibilitychange" in body and "Authorization" in body and "DOMParser" in body


@pytest.mark.django_db
def test_a_page_awaiting_payment_refreshes_itself_only_without_javascript(client: Client) -> None:
    order, token = make_order(make_published_article())

    html = open_page(client, order, token).content.decode()

    noscript = NOSCRIPT.findall(html)
    assert any(REFRESH.search(block) and 'content="10"' in block for block in noscript)
    assert not REFRESH.search(NOSCRIPT.sub("", html)), "a meta refresh outside <noscript>"
    assert root_data(html)["live"] == "live"


@pytest.mark.django_db(transaction=True)
def test_back_from_paying_before_the_webhook_the_page_follows_the_payment_until_it_is_confirmed(
    client: Client, api: Any, fake_stripe: Any
) -> None:
    order, token = make_order(make_published_article())

    clearing = open_page(client, order, token, "&paid=1").content.decode()

    assert "waiting for its confirmation" in clearing
    assert root_data(clearing)["live"] == "confirming"
    assert any(REFRESH.search(block) for block in NOSCRIPT.findall(clearing))
    asked = len([r for r in fake_stripe.requests if r.method == "GET"])
    client.get(f"/orders/{order.id}/?paid=1")  # what the script fetches: Stripe is asked again
    assert len([r for r in fake_stripe.requests if r.method == "GET"]) == asked + 1

    signed_post(api, checkout_event(order, event_id="evt_clearing"))
    confirmed = client.get(f"/orders/{order.id}/?paid=1").content.decode()

    assert root_data(confirmed)["live"] == "live"
    assert root_data(confirmed)["status"] == OrderStatus.PROCESSING
    assert "waiting for its confirmation" not in confirmed


@pytest.mark.django_db(transaction=True)
def test_while_the_draft_is_written_the_page_shows_the_stage_the_bar_the_place_in_line_and_the_wait(
    client: Client, api: Any, run_worker: Any
) -> None:
    order, token = make_order(make_published_article())
    signed_post(api, checkout_event(order, event_id="evt_live"))

    writing = open_page(client, order, token).content.decode()

    assert root_data(writing)["live"] == "live"
    assert '<progress id="progress" max="100" value="0"' in writing
    assert '<span id="progress-stage">Waiting for a writer</span>' in writing
    assert '<span id="queue-position">Yours is next</span>' in writing
    assert re.search(r'<span id="estimate">About \d+ (second|minute)s? left</span>', writing)
    assert 'id="live-region" class="visually-hidden" role="status" aria-live="polite"' in writing
    words = re.search(r'data-stage-words="([^"]*)"', writing)
    assert words and json.loads(words.group(1).replace("&quot;", '"')) == QUEUE_STAGE_WORDS

    run_worker()
    ready = client.get(f"/orders/{order.id}/").content.decode()

    assert root_data(ready)["live"] == "slow"  # waiting on the customer: looked at now and then
    assert root_data(ready)["slow-ms"] == "30000"  # ORDER_PAGE_SLOW_POLL_SECONDS
    assert '<span class="badge" id="status" data-status="QUALITY_CHECK">' in ready
    assert "<progress" not in ready
    assert not REFRESH.search(ready)


@pytest.mark.django_db(transaction=True)
def test_a_final_state_stops_the_script_and_the_refresh(client: Client, api: Any) -> None:
    order, token = make_order(make_published_article())
    signed_post(api, checkout_event(order, event_id="evt_final"))
    order_fail(order_id=order.id, reason="The writing service refused.")

    html = open_page(client, order, token).content.decode()

    assert root_data(html)["live"] == "off"
    assert root_data(html)["status"] == OrderStatus.FAILED
    assert not REFRESH.search(html)


@pytest.mark.django_db(transaction=True)
def test_paying_on_the_test_mode_page_goes_straight_to_the_order_page(
    client: Client, live_server: Any, settings: Any, local_test_payments: Any
) -> None:
    settings.SITE_URL = live_server.url
    order, token = make_order(make_published_article())

    response = client.post(f"/purchase/test-checkout/{order.stripe_checkout_session_id}/")

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.id}/?token={token}&paid=1"
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING and order.paid_at is not None
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0] == f"/orders/{order.id}/?paid=1"  # the token went into the cookie
    assert root_data(page.content.decode())["status"] == OrderStatus.PROCESSING
    assert "waiting for its confirmation" not in page.content.decode()


def test_a_stage_reads_in_the_customers_words() -> None:
    assert queue_stage_words({"state": "started", "stage": "quality_check"}) == "Checking the draft"
    assert queue_stage_words({"state": "retrying", "stage": "writing"}) == QUEUE_STAGE_WORDS["retrying"]
    assert queue_stage_words({"state": "queued", "stage": None}) == "Waiting for a writer"
    assert queue_stage_words({"state": "started", "stage": "polishing_links"}) == "Polishing links"
