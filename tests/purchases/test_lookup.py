"""All my orders: ``/orders/`` and ``POST /api/v1/purchase/lookup``, the emailed link and the listing.

Through the real API, pages and a real RQ worker; mail goes to the fake provider. Nothing in an
answer may tell whether an address has orders; only the job looks, and mails the address.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import django_rq
import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from purchases.models import Order, OrderLookup, OrderStatus, OrderTransition
from purchases.selectors import order_status_label
from purchases.services.lookup import order_lookup_answer
from purchases.services.runs import orders_reconcile
from purchases.tokens import make_order_token, make_orders_link_key
from queueing.models import JobRequest
from tests.conftest import checkout_event, signed_post
from tests.factories import make_article_order, make_order, make_published_article

pytestmark = pytest.mark.django_db
# Tests with a worker: the request's job reaches RQ only when its transaction commits.
committed = pytest.mark.django_db(transaction=True)

LOOKUP = "/api/v1/purchase/lookup"
LINK = re.compile(r"http://testserver(/orders/mine/\?key=[^\s\"<]+)")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
OWNER = "owner@example.com"


def paid(order: Order, *, event_id: str) -> Order:
    """Pay ``order`` through a signed Stripe webhook (it moves to PROCESSING)."""
    assert signed_post(APIClient(), checkout_event(order, event_id=event_id)).status_code == 200
    order.refresh_from_db()
    return order


@pytest.fixture
def orders(article: Any) -> dict[str, Order]:
    """The owner's orders under two spellings of the address, someone else's, and an abandoned checkout."""
    backlink, _ = make_order(article, customer_email=OWNER)
    sponsored, _ = make_article_order(customer_email="Owner@Example.COM", topic="Packing for a long hike")
    other, _ = make_order(make_published_article(), customer_email="someone.else@example.com")
    abandoned, _ = make_order(make_published_article(), customer_email=OWNER)
    Order.objects.filter(pk=abandoned.pk).update(status="FAILED", failure_reason="checkout expired")
    return {
        "backlink": paid(backlink, event_id="evt_owner_1"),
        "sponsored": paid(sponsored, event_id="evt_owner_2"),
        "other": paid(other, event_id="evt_other"),
        "abandoned": abandoned,
    }


@pytest.fixture
def settled(orders: dict[str, Order], fake_mail: Any, run_worker: Any) -> dict[str, Order]:
    """``orders`` once the worker wrote their first drafts (committed tests), with the mail outbox emptied."""
    run_worker()
    mail.outbox.clear()
    fake_mail.reset()
    for order in orders.values():
        order.refresh_from_db()
    return orders


def ask(api: APIClient, email: object, *, ip: str = "203.0.113.7") -> Any:
    return api.post(LOOKUP, {"customerEmail": email}, format="json", REMOTE_ADDR=ip)


def link_in(message: Any) -> str:
    """The listing link of a lookup email (the same in its text and HTML parts)."""
    html = message.alternatives[0][0]
    text_links = LINK.findall(message.body)
    assert len(text_links) == 1, message.body
    assert LINK.findall(html) == text_links
    return str(text_links[0])


def open_listing(client: Client, path: str) -> Any:
    """Follow the emailed link: the key becomes an HttpOnly cookie, then the clean address lists the orders."""
    response = client.get(path)
    assert response.status_code == 302, response.content
    assert response["Location"] == "/orders/mine/"
    cookie = response.cookies["orders_key"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/orders/mine/"
    return client.get(response["Location"])


# --- The same answer for every address -------------------------------------------------------------


def test_the_api_answers_the_same_202_for_an_address_with_orders_and_one_without(
    api: APIClient, orders: dict[str, Order]
) -> None:
    with_orders = ask(api, "OWNER@example.com")
    without = ask(api, "nobody@example.com")

    assert with_orders.status_code == without.status_code == 202
    assert with_orders.json() == without.json()
    assert "link" in with_orders.json()["message"]
    assert dict(with_orders.headers).keys() == dict(without.headers).keys()


def test_the_request_does_the_same_work_for_every_address_and_leaves_the_lookup_to_a_job(
    api: APIClient, orders: dict[str, Order]
) -> None:
    ask(api, OWNER)
    ask(api, "nobody@example.com")

    lookups = list(OrderLookup.objects.order_by("created_at"))
    assert [(x.email, x.outcome, x.orders_found) for x in lookups] == [
        (OWNER, "pending", None),
        ("nobody@example.com", "pending", None),
    ]
    requests = JobRequest.objects.filter(subject_id__in=[x.id for x in lookups])
    assert (
        sorted((r.queue, r.func) for r in requests)
        == [("maintenance", "purchases.jobs.order_lookup_job")] * 2
    )
    assert mail.outbox == []


def test_the_page_answers_the_same_for_an_address_with_orders_and_one_without(
    orders: dict[str, Order],
) -> None:
    client = Client()
    with_orders = client.post("/orders/", {"customerEmail": OWNER})
    without = client.post("/orders/", {"customerEmail": "nobody@example.com"})

    assert with_orders.status_code == without.status_code == 302
    assert with_orders["Location"] == without["Location"] == "/orders/?sent=1"
    assert with_orders.content == without.content
    page = client.get(with_orders["Location"])
    assert page.status_code == 200
    assert "If this address has orders with us" in page.content.decode()
    assert OrderLookup.objects.count() == 2


def test_the_form_is_labelled_and_every_page_links_to_it(client: Client) -> None:
    page = client.get("/orders/").content.decode()

    assert '<label for="customerEmail">' in page
    assert 'id="customerEmail" name="customerEmail" type="email"' in page
    assert 'autocomplete="email"' in page
    assert 'href="/orders/">Your orders</a>' in client.get("/").content.decode()


# --- The email and the listing ---------------------------------------------------------------------


@committed
def test_the_job_sends_one_email_whose_link_lists_exactly_that_addresss_orders(
    api: APIClient, settled: dict[str, Order], fake_mail: Any, run_worker: Any
) -> None:
    orders = settled
    assert ask(api, " Owner@EXAMPLE.com ").status_code == 202

    run_worker()

    assert [m.to for m in mail.outbox] == [[OWNER]]
    message: Any = mail.outbox[0]
    assert message.subject == "Your orders"
    assert message.alternatives and message.alternatives[0][1] == "text/html"
    assert "&#x27;" not in message.body and "&amp;" not in message.body
    page = open_listing(Client(), link_in(message))
    assert page.status_code == 200
    html = page.content.decode()
    listed = re.findall(r'href="/orders/([0-9a-f-]{36})/\?token=', html)
    mine = [orders["sponsored"], orders["backlink"]]  # newest first
    assert listed == [str(o.id) for o in mine]
    for order in mine:
        assert (
            f"/orders/{order.id}/?token={make_order_token(order_id=order.id, token_salt=order.token_salt)}"
            in html
        )
    assert str(orders["other"].id) not in html and str(orders["abandoned"].id) not in html
    for order in mine:
        assert escape(Order.objects.get(pk=order.pk).display_title) in html
    assert "Sponsored article" in html and "Backlink" in html
    assert "Ready for your review" in html and "QUALITY_CHECK" not in html
    assert f"{orders['backlink'].amount} USD" in html
    lookup = OrderLookup.objects.get()
    assert (lookup.outcome, lookup.orders_found) == ("sent", 2)
    assert JobRequest.objects.get(subject_id=lookup.id).state == "done"


@committed
def test_each_listed_order_opens_its_own_page(
    api: APIClient, settled: dict[str, Order], fake_mail: Any, run_worker: Any
) -> None:
    ask(api, OWNER)
    run_worker()
    client = Client()
    html = open_listing(client, link_in(mail.outbox[-1])).content.decode()

    for link in re.findall(r'href="(/orders/[0-9a-f-]{36}/\?token=[^"]+)"', html):
        assert client.get(link, follow=True).status_code == 200


@committed
def test_a_job_run_twice_sends_one_email(
    api: APIClient, settled: dict[str, Order], fake_mail: Any, run_worker: Any
) -> None:
    ask(api, OWNER)
    run_worker()
    lookup = OrderLookup.objects.get()

    assert order_lookup_answer(lookup_id=lookup.id) == "skipped"
    assert len([m for m in mail.outbox if m.subject == "Your orders"]) == 1


@committed
def test_an_address_without_orders_gets_no_email(
    api: APIClient, settled: dict[str, Order], fake_mail: Any, run_worker: Any
) -> None:
    ask(api, "nobody@example.com")
    ask(api, "someone.else@example.org")

    run_worker()

    assert mail.outbox == []
    assert set(OrderLookup.objects.values_list("outcome", "orders_found")) == {("no_orders", 0)}


@committed
def test_a_provider_failure_is_retried_and_sends_once(
    api: APIClient, settled: dict[str, Order], fake_mail: Any, run_worker: Any
) -> None:
    fake_mail.fail_next("provider down")
    ask(api, OWNER)

    run_worker()

    assert len(mail.outbox) == 1
    lookup = OrderLookup.objects.get()
    assert (lookup.outcome, lookup.error) == ("sent", "")


def test_the_listing_costs_the_same_queries_however_many_orders(
    client: Client, article: Any, django_assert_num_queries: Any
) -> None:
    for n in range(3):
        paid(make_order(article, customer_email=OWNER)[0], event_id=f"evt_q{n}")
    client.get(f"/orders/mine/?key={make_orders_link_key(email=OWNER)}")

    with django_assert_num_queries(1):
        response = client.get("/orders/mine/")

    assert response.content.decode().count("?token=") == 3


@committed
def test_a_lookup_job_lost_with_redis_is_put_back_by_the_reconciler_and_sends_once(
    api: APIClient, settled: dict[str, Order], fake_mail: Any, run_worker: Any
) -> None:
    ask(api, OWNER)
    django_rq.get_connection("maintenance").flushdb()  # Redis lost the job after the request committed
    run_worker()
    assert mail.outbox == []

    report = orders_reconcile(grace=timedelta(0))
    run_worker()
    orders_reconcile(grace=timedelta(0))
    run_worker()

    lookup = OrderLookup.objects.get()
    assert report.requeued == [f"order-lookup-{lookup.id}"]
    assert [m.to for m in mail.outbox] == [[OWNER]]


def test_an_order_whose_token_expired_is_listed_without_a_link(
    client: Client, article: Any, settings: Any
) -> None:
    settings.ORDER_TOKEN_TTL_DAYS = 30
    old, _ = make_order(article, customer_email=OWNER)
    recent, _ = make_order(article, customer_email=OWNER)
    for order, days_ago in ((old, 31), (recent, 29)):
        paid(order, event_id=f"evt_{order.id}")
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.PUBLISHED)
        moved = OrderTransition.objects.create(
            order=order, from_status=OrderStatus.ADMIN_REVIEW, to_status=OrderStatus.PUBLISHED, source="staff"
        )
        OrderTransition.objects.filter(pk=moved.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )

    html = open_listing(client, f"/orders/mine/?key={make_orders_link_key(email=OWNER)}").content.decode()

    assert f"/orders/{recent.id}/?token=" in html
    assert f"/orders/{old.id}/" not in html
    assert html.count("Published") == 2 and "its page is closed" in html


@pytest.mark.parametrize(
    ("status", "changes", "label"),
    [
        (OrderStatus.PENDING_PAYMENT, {}, "Pending payment"),
        (OrderStatus.PENDING_PAYMENT, {"checkout_expires_at": -1}, "Payment not received"),
        (OrderStatus.PROCESSING, {"paid_at": 0}, "Being written"),
        (OrderStatus.QUALITY_CHECK, {"paid_at": 0}, "Ready for your review"),
        (OrderStatus.ADMIN_REVIEW, {"paid_at": 0}, "With our editors"),
        (OrderStatus.PUBLISHED, {"paid_at": 0}, "Published"),
        (
            OrderStatus.PUBLISHED,
            {"paid_at": 0, "refunded_amount": Decimal("10.00")},
            "Published (refunded 10.00 USD)",
        ),
        (OrderStatus.FAILED, {"paid_at": 0}, "Not completed"),
        (OrderStatus.FAILED, {}, "Not paid"),
        (OrderStatus.REFUNDED, {"paid_at": 0, "refunded_amount": Decimal("49.00")}, "Refunded"),
    ],
)
def test_each_status_has_a_customer_label_never_the_internal_name(
    article: Any, status: str, changes: dict[str, Any], label: str
) -> None:
    order, _ = make_order(article)
    now = timezone.now()
    for field, value in changes.items():
        setattr(order, field, now + timedelta(hours=value) if isinstance(value, int) else value)
    order.status = status  # a read model only: never saved

    assert order_status_label(order, now=now) == label
    assert status not in label


# --- Links that expire or were changed ------------------------------------------------------------


def test_a_link_opens_the_listing_within_its_ttl(orders: dict[str, Order]) -> None:
    key = make_orders_link_key(email=OWNER, issued_at=timezone.now() - timedelta(hours=23, minutes=59))

    page = open_listing(Client(), f"/orders/mine/?key={key}")

    assert page.status_code == 200
    assert str(orders["backlink"].id) in page.content.decode()


def test_a_link_older_than_its_ttl_says_it_expired_and_offers_the_form(orders: dict[str, Order]) -> None:
    key = make_orders_link_key(email=OWNER, issued_at=timezone.now() - timedelta(hours=24, seconds=1))

    response = Client().get(f"/orders/mine/?key={key}")

    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html and "24 hours" in html
    assert 'name="customerEmail"' in html
    assert str(orders["backlink"].id) not in html
    assert "orders_key" not in response.cookies or response.cookies["orders_key"].value == ""


def test_the_ttl_is_a_setting(orders: dict[str, Order], settings: Any) -> None:
    settings.ORDER_LOOKUP_LINK_TTL_HOURS = 1
    key = make_orders_link_key(email=OWNER, issued_at=timezone.now() - timedelta(hours=1, seconds=1))

    assert Client().get(f"/orders/mine/?key={key}").status_code == 410


def test_a_cookie_that_outlived_its_link_opens_nothing(orders: dict[str, Order], settings: Any) -> None:
    client = Client()
    open_listing(client, f"/orders/mine/?key={make_orders_link_key(email=OWNER)}")
    settings.ORDER_LOOKUP_LINK_TTL_HOURS = 0

    response = client.get("/orders/mine/")

    assert response.status_code == 410
    assert str(orders["backlink"].id) not in response.content.decode()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"), id="signature"),
        pytest.param(
            lambda key: (
                make_orders_link_key(email="someone.else@example.com").split(":")[0]
                + ":"
                + key.split(":", 1)[1]
            ),
            id="address",
        ),
        pytest.param(lambda key: key[: len(key) // 2], id="cut short"),
        pytest.param(lambda key: "not a key at all", id="garbage"),
    ],
)
def test_a_changed_link_is_refused_with_the_form(orders: dict[str, Order], change: Any) -> None:
    key = change(make_orders_link_key(email=OWNER))

    response = Client().get("/orders/mine/", {"key": key})

    assert response.status_code == 400
    html = response.content.decode()
    assert "This link is not valid" in html and 'name="customerEmail"' in html
    assert str(orders["backlink"].id) not in html and str(orders["other"].id) not in html


def test_an_order_token_is_no_orders_link(orders: dict[str, Order]) -> None:
    order = orders["backlink"]
    token = make_order_token(order_id=order.id, token_salt=order.token_salt)

    assert Client().get("/orders/mine/", {"key": token}).status_code == 400


def test_the_listing_without_a_link_sends_to_the_form(client: Client) -> None:
    response = client.get("/orders/mine/")

    assert (response.status_code, response["Location"]) == (302, "/orders/")


# --- Rate limits and bad input ----------------------------------------------------------------------


def test_one_address_can_be_asked_about_only_so_often_from_any_client(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_ORDERS_LINK_EMAIL = "2/hour"
    assert ask(api, OWNER, ip="198.51.100.1").status_code == 202
    assert ask(api, "OWNER@example.com", ip="198.51.100.2").status_code == 202

    response = ask(api, " Owner@Example.com", ip="198.51.100.3")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert ask(api, "another@example.com", ip="198.51.100.3").status_code == 202
    assert OrderLookup.objects.count() == 3


def test_one_client_can_ask_only_so_often_about_any_addresses(api: APIClient, settings: Any) -> None:
    settings.RATE_LIMIT_ORDERS_LINK = "2/hour"
    for n in range(2):
        assert ask(api, f"a{n}@example.com").status_code == 202

    response = ask(api, "a9@example.com")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert ask(api, "a9@example.com", ip="198.51.100.77").status_code == 202


def test_the_page_counts_against_the_same_limits_and_says_when_to_try_again(
    client: Client, settings: Any
) -> None:
    settings.RATE_LIMIT_ORDERS_LINK = "1/hour"
    assert client.post("/orders/", {"customerEmail": OWNER}).status_code == 302

    response = client.post("/orders/", {"customerEmail": "x@example.com"})

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Please try again in" in response.content.decode()
    assert OrderLookup.objects.count() == 1


@pytest.mark.parametrize("email", ["not-an-email", "", None, 12, ["owner@example.com"], "a@b@example.com"])
def test_a_bad_address_is_a_400_naming_the_field_and_nothing_is_queued(api: APIClient, email: Any) -> None:
    response = ask(api, email)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "customerEmail" in error["fields"]
    assert OrderLookup.objects.count() == 0 and JobRequest.objects.count() == 0


def test_a_body_without_the_field_is_a_400_naming_it(api: APIClient) -> None:
    response = api.post(LOOKUP, {"email": OWNER}, format="json")

    assert response.status_code == 400
    assert "customerEmail" in response.json()["error"]["fields"]


def test_a_bad_address_in_the_form_is_marked_on_the_field(client: Client) -> None:
    response = client.post("/orders/", {"customerEmail": "not-an-email"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true" aria-describedby="customerEmail-error"' in html
    assert 'id="customerEmail-error"' in html and 'value="not-an-email"' in html
    assert OrderLookup.objects.count() == 0


def test_staff_see_the_lookups_read_only_in_the_admin(api: APIClient, admin_client: Client) -> None:
    ask(api, "Someone@Example.com")

    page = admin_client.get("/admin/purchases/orderlookup/")

    assert page.status_code == 200
    assert "someone@example.com" in page.content.decode()
    assert admin_client.get("/admin/purchases/orderlookup/add/").status_code == 403
