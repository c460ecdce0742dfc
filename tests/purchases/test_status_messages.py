"""A reason for every state: the status API's ``statusMessage`` and the order page's banner, through the
real flows (checkout, signed webhooks, a real worker, staff in the admin)."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from purchases.models import Order, OrderStatus
from purchases.services.refunds import order_refund
from tests.conftest import checkout_event, outbox_for, signed_post
from tests.factories import GOOD_BACKLINK_REPLY, article_reply, make_article_order, make_order

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = GOOD_BACKLINK_REPLY
GOOD_AGAIN = json.dumps(
    {
        "paragraph_index": 1,
        "mode": "insert_after",
        "paragraph": "A sore neck after waking is common, and [[memory foam pillows]] are one way to ease it.",
    }
)
NO_MARK = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches in the morning, memory foam pillows can help keep your spine aligned.",
    }
)


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def status(api: Any, order: Order, token: str) -> dict[str, Any]:
    answer = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token))
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert_plain(body["statusMessage"])
    return body


def banner(client: Any, order: Order, token: str, query: str = "") -> tuple[str, str, str]:
    """The order page's badge, banner class and banner text (tags dropped)."""
    page = client.get(f"/orders/{order.id}/?token={token}{query}", follow=True).content.decode()
    badge = re.search(r'id="status"[^>]*>([^<]*)<', page)
    box = re.search(r'<div class="banner (\w+)" id="status-message">(.*?)</div>', page, re.S)
    assert badge is not None and box is not None
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", box.group(2))).split())
    assert_plain(badge.group(1) + " " + text)
    return badge.group(1), box.group(1), text


def assert_plain(message: str) -> None:
    """Words for a customer: something said, and no internal status name."""
    assert message.strip()
    assert not [name for name in OrderStatus.values if name in message], message


def pay(api: Any, order: Order, fake_stripe: Any) -> None:
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    payload = fake_stripe.checkout_session_event(order.stripe_checkout_session_id)
    assert signed_post(api, payload).status_code == 200


def submit(api: Any, order: Order, token: str) -> None:
    response = api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth(token)
    )
    assert response.status_code == 200, response.content


def test_an_unpaid_order_says_what_it_costs_and_how_long_it_is_kept(
    api: Any, client: Any, article: Any
) -> None:
    order, token = make_order(article)

    answer = status(api, order, token)
    message = answer["statusMessage"]
    badge, tone, text = banner(client, order, token)

    assert message.startswith("We are waiting for your payment of 49.00 USD. Your order is kept until ")
    assert (badge, tone, text) == ("Pending payment", "warn", message)
    assert (answer["statusLabel"], answer["statusTone"]) == (badge, tone)  # what a live page needs


def test_a_cancelled_payment_is_named_on_the_page_with_the_way_to_pay(client: Any, article: Any) -> None:
    order, token = make_order(article)

    badge, _, text = banner(client, order, token, "&cancelled=1")

    assert badge == "Payment cancelled"
    assert text.startswith("Payment was cancelled and nothing was charged.")
    page = client.get(f"/orders/{order.id}/?cancelled=1").content.decode()
    assert f'href="{order.checkout_url}"' in page


def test_a_payment_still_clearing_says_so_until_the_money_arrives(
    api: Any, client: Any, article: Any
) -> None:
    order, token = make_order(article)
    assert (
        signed_post(api, checkout_event(order, event_id="evt_c", payment_status="unpaid")).status_code == 200
    )

    answer = status(api, order, token)

    assert answer["status"] == "PENDING_PAYMENT"
    assert "still clearing with your bank" in answer["statusMessage"]
    assert banner(client, order, token)[0] == "Payment clearing"


def test_back_from_stripe_before_the_webhook_the_page_says_the_payment_is_being_confirmed(
    client: Any, article: Any
) -> None:
    order, token = make_order(article)  # Stripe has not marked the session paid yet

    badge, _, text = banner(client, order, token, "&paid=1")

    assert badge == "Payment received"
    assert "waiting for its confirmation" in text


def test_a_backlink_being_written_then_ready_says_what_happens_next(
    api: Any, client: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script(GOOD)
    order, token = make_order(article)
    pay(api, order, fake_stripe)

    queued = status(api, order, token)
    badge, tone, text = banner(client, order, token)
    run_worker()
    ready = status(api, order, token)

    assert queued["statusMessage"] == (
        f"We are weaving your link into “{article.title}”. You can close this page: we will email you when "
        "it is ready."
    )
    assert isinstance(queued["queue"]["estimatedSeconds"], int) and queued["queue"]["estimatedSeconds"] >= 1
    assert (badge, tone) == ("Being written", "warn") and text.startswith(queued["statusMessage"])
    assert ready["statusMessage"] == (
        "Your draft is ready. Read it, then submit it for editorial review or ask for another placement."
    )
    assert ready["queue"]["estimatedSeconds"] is None
    assert banner(client, order, token)[:2] == ("Ready for your review", "ok")


def test_a_regeneration_in_progress_is_a_new_placement(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script(GOOD)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()

    api.post("/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token))

    assert status(api, order, token)["statusMessage"].startswith(
        f"We are writing a new placement of your link in “{article.title}”."
    )


def test_an_article_order_has_its_own_words_from_writing_to_rejection(
    api: Any, client: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, editor: User, mailoutbox: Any
) -> None:
    fake_openai.script(article_reply())
    order, token = make_article_order()
    pay(api, order, fake_stripe)

    writing = status(api, order, token)["statusMessage"]
    run_worker()
    ready = status(api, order, token)["statusMessage"]
    submit(api, order, token)
    reviewing = status(api, order, token)["statusMessage"]
    client.force_login(editor)
    client.post(f"/admin/purchases/order/{order.id}/reject/", {"reason": "Make the intro shorter."})
    rejected = status(api, order, token)["statusMessage"]

    assert writing.startswith("We are writing your article about “Choosing a pillow for side sleepers”.")
    assert ready.endswith("submit it for editorial review or ask for a fresh draft.")
    assert reviewing == "An editor is reviewing your article. We will email you when it is live."
    assert (
        rejected
        == "Our editor asked for changes: “Make the intro shorter.” Ask for a fresh draft, then submit it again."
    )
    (email,) = [m for m in outbox_for(order) if "changes" in m.subject]
    assert email.subject == "Your editor asked for changes to your article"
    html_body = email.alternatives[0][0]
    for text in (rejected, email.body, html_body):
        assert "placement" not in text
    assert "Make the intro shorter." in email.body and "ask for a fresh draft of the article" in email.body


def test_a_rejected_backlink_shows_the_editors_reason_on_the_page_until_a_new_draft(
    api: Any, client: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, editor: User
) -> None:
    fake_openai.script(GOOD, GOOD_AGAIN)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()
    submit(api, order, token)
    staff = client_for(editor)

    response = staff.post(
        f"/admin/purchases/order/{order.id}/reject/", {"reason": "Please place it near the intro."}
    )

    assert response.status_code == 302
    badge, tone, text = banner(client, order, token)
    assert (badge, tone) == ("Changes requested", "warn")
    assert text == (
        "Our editor asked for changes: “Please place it near the intro.” Ask for another placement, then "
        "submit it again."
    )
    api.post("/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token))
    run_worker()
    assert status(api, order, token)["statusMessage"].startswith("Your draft is ready.")


def client_for(user: User) -> Any:
    from django.test import Client

    staff = Client()
    staff.force_login(user)
    return staff


def test_a_published_order_links_to_the_live_article(
    api: Any, client: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, editor: User
) -> None:
    fake_openai.script(GOOD)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()
    submit(api, order, token)

    assert client_for(editor).post(f"/admin/purchases/order/{order.id}/publish/").status_code == 302

    live = f"{settings.SITE_URL}/articles/{article.slug}/"
    assert status(api, order, token)["statusMessage"] == f"Your link is live in “{article.title}”: {live}"
    page = client.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()
    assert f'<a href="{live}">Read the article</a>' in page


def test_a_failed_order_says_why_in_customer_words_never_the_stored_reason(
    api: Any,
    client: Any,
    article: Any,
    fake_stripe: Any,
    fake_openai: Any,
    run_worker: Any,
    settings: Any,
    mailoutbox: Any,
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()

    answer = status(api, order, token)

    assert answer["failureReason"].startswith("Quality checks failed 3 times")  # the API keeps the record
    assert answer["statusMessage"] == (
        "We could not complete this order: none of our drafts passed our quality checks. Our team has been "
        "told and will contact you about a new attempt or a refund."
    )
    assert banner(client, order, token)[:2] == ("Not completed", "bad")
    (email,) = outbox_for(order)
    assert "Reason: None of our drafts passed our quality checks." in email.body
    assert "link_mark" not in email.body and "link_mark" not in email.alternatives[0][0]


def test_a_refused_request_at_the_writing_service_is_told_without_its_error_text(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, settings: Any
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script({"status": 400})
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()

    answer = status(api, order, token)

    assert answer["status"] == "FAILED"
    assert answer["statusMessage"].startswith(
        "We could not complete this order: the writing service declined to write this text."
    )


def test_an_order_refunded_after_it_failed_says_both(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()  # fails, then the automatic refund goes through Stripe

    answer = status(api, order, token)

    assert answer["status"] == "REFUNDED"
    assert answer["statusMessage"] == (
        "We refunded 49.00 USD, your payment in full because we could not complete it: none of our drafts "
        "passed our quality checks. Depending on your bank it can take 5 to 10 days to appear."
    )
    refund_email = next(m for m in outbox_for(order) if m.subject == "Your order has been refunded")
    assert "Reason: None of our drafts passed our quality checks." in refund_email.body
    assert "Automatic refund" not in refund_email.body


def test_a_partial_refund_is_added_to_the_message_of_any_status(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, editor: User
) -> None:
    fake_openai.script(GOOD)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()

    order_refund(order_id=order.id, actor=editor, reason="late delivery", amount=Decimal("10.00"))

    message = status(api, order, token)["statusMessage"]
    assert message.startswith("Your draft is ready.")
    assert message.endswith("We refunded 10.00 USD of your payment.")


def test_an_expired_checkout_says_no_money_was_taken(api: Any, client: Any, article: Any) -> None:
    order, token = make_order(article)
    expired = checkout_event(
        order, event_id="evt_x", event_type="checkout.session.expired", payment_status="unpaid"
    )
    assert signed_post(api, expired).status_code == 200

    assert status(api, order, token)["statusMessage"] == (
        "This order was cancelled: the time to pay ran out before a payment was made. No money was taken; "
        "you are welcome to order again."
    )
    assert banner(client, order, token)[:2] == ("Cancelled", "bad")


def test_an_open_dispute_is_told_to_the_customer(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script(GOOD)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()
    order.refresh_from_db()
    dispute = fake_stripe.add_dispute(order.stripe_payment_intent_id)
    event = {"id": "evt_d", "object": "event", "type": "charge.dispute.created", "data": {"object": dispute}}
    assert signed_post(api, json.dumps(event).encode()).status_code == 200

    assert status(api, order, token)["statusMessage"].endswith(
        "Your bank has opened a dispute about this payment; we answer it through our payment provider."
    )


def test_an_order_waiting_out_a_writing_service_outage_says_nothing_is_lost(
    api: Any, client: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, settings: Any
) -> None:
    settings.LLM_OUTAGE_FIRST_DELAY_SECONDS = 60
    fake_openai.default = lambda request: {"status": 503}
    order, token = make_order(article)
    pay(api, order, fake_stripe)

    run_worker()  # the run is put off until the service is back

    answer = status(api, order, token)
    assert (answer["status"], answer["queue"]["stage"]) == ("PROCESSING", "waiting for the writing service")
    assert answer["statusMessage"].startswith("The writing service we use is unavailable at the moment")
    assert "Nothing is lost" in banner(client, order, token)[2]


def test_an_order_staff_try_again_says_so(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, editor: User, settings: Any
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(NO_MARK, NO_MARK, NO_MARK)
    order, token = make_order(article)
    pay(api, order, fake_stripe)
    run_worker()

    response = client_for(editor).post(f"/admin/purchases/order/{order.id}/retry/", {"reason": "once more"})

    assert response.status_code == 302
    assert status(api, order, token)["statusMessage"].startswith("Our team is trying your order again.")


def test_a_link_placed_again_because_the_article_changed_under_it_says_why(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, editor: User
) -> None:
    rewrites_paragraph_3 = json.dumps(
        {
            "paragraph_index": 3,
            "mode": "replace",
            "paragraph": "Going to bed at the same time every day trains your body clock, and "
            "[[memory foam pillows]] make that routine more comfortable.",
        }
    )
    fake_openai.script(rewrites_paragraph_3, GOOD)
    first, first_token = make_order(article)
    pay(api, first, fake_stripe)
    run_worker()
    submit(api, first, first_token)
    second, token = make_order(article)
    pay(api, second, fake_stripe)
    run_worker()
    submit(api, second, token)
    staff = client_for(editor)
    staff.post(f"/admin/purchases/order/{first.id}/publish/")

    staff.post(f"/admin/purchases/order/{second.id}/publish/")  # the paragraph under its link changed

    assert status(api, second, token)["statusMessage"].startswith(
        f"“{article.title}” was updated while your draft was with our editors, so we are placing your link "
        "in its current text again"
    )
