"""The whole backlink flow with a real RQ worker, fake Stripe and fake OpenAI at the HTTP boundary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from articles.content import split_paragraphs
from articles.models import ArticleVersion
from articles.offline_writer import OFFLINE_MODEL_NAME
from purchases.jobs import backlink_integration_job
from purchases.models import EmailRecord, Order, OrderStatus
from queueing.models import JobRequest
from tests.conftest import checkout_event, outbox_for, signed_post
from tests.factories import GOOD_BACKLINK_REPLY, make_order
from tests.fakes import sign_stripe_payload

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = GOOD_BACKLINK_REPLY
SECOND_LINK = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "Try [[memory foam pillows]] and also [this shop](https://other.example-shop.com) for a deal today.",
    }
)
REWRITES_NEXT = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches, [[memory foam pillows]] can help keep your spine aligned through the night."
        "\n\nBright screens are fine late at night, whatever anyone says about melatonin.",
    }
)
NO_MARK = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "insert_after",
        "paragraph": "If your neck aches in the morning, memory foam pillows can help keep your spine aligned at night.",
    }
)


def current(order: Order) -> ArticleVersion:
    assert order.current_version is not None
    return order.current_version


def pay(api: Any, order: Any, event_id: str = "evt_pay") -> None:
    assert signed_post(api, checkout_event(order, event_id=event_id)).status_code == 200


def paid_order(api: Any, article: Any) -> tuple[Order, str]:
    order, token = make_order(article, anchor_text="memory foam pillows")
    pay(api, order)
    return order, token


def test_checkout_to_quality_check_through_stripe_and_openai(
    api: Any, article: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.script(GOOD)
    checkout = api.post(
        "/api/v1/purchase/checkout",
        {
            "articleId": article.pk,
            "targetUrl": "https://shop.example-store.com/pillows",
            "anchorText": "memory foam pillows",
            "customerEmail": "buyer@example.com",
        },
        format="json",
    ).json()
    order_id, token = checkout["orderId"], checkout["orderToken"]
    session_id = Order.objects.get(pk=order_id).stripe_checkout_session_id
    fake_stripe.mark_paid(session_id, payment_intent="pi_real")
    payload = fake_stripe.checkout_session_event(session_id)
    webhook = api.post(
        "/api/v1/purchase/webhook",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_stripe_payload(payload, "whsec_test_secret"),
    )
    assert webhook.status_code == 200
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    queued = api.get(f"/api/v1/purchase/status/{order_id}", **auth).json()
    assert queued["status"] == "PROCESSING"
    assert queued["queue"]["state"] == "queued"
    assert queued["queue"]["position"] == 0
    assert api.get(f"/api/v1/purchase/content/{order_id}", **auth).json()["error"]["code"] == "no_content"

    run_worker()

    status = api.get(f"/api/v1/purchase/status/{order_id}", **auth).json()
    assert status["status"] == "QUALITY_CHECK"
    assert status["queue"] | {} == {
        "jobId": f"backlink-{order_id}-run-1",
        "state": "finished",
        "position": None,
        "progress": 100,
        "stage": "done",
        "attempts": 0,
        "estimatedSeconds": None,
    }
    assert status["actions"] == ["regenerate", "submit_for_review"]
    assert "memory foam pillows can help keep your spine aligned" in status["preview"]
    content = api.get(f"/api/v1/purchase/content/{order_id}", **auth).json()
    assert (
        '<a href="https://shop.example-store.com/pillows" rel="sponsored">memory foam pillows</a>'
        in content["bodyHtml"]
    )
    meta = content["backlinkMetadata"]
    assert meta["integration_type"] == "customer_backlink"
    assert meta["base_article_version_id"] == str(article.published_version_id)
    assert meta["regeneration_count"] == 0
    (request,) = fake_openai.requests
    assert request["model"] == "gpt-test"
    assert request["response_format"]["type"] == "json_schema"
    assert "https://shop.example-store.com" not in json.dumps(
        request["messages"]
    )  # the model never sees the URL
    (email,) = outbox_for(Order.objects.get(pk=order_id))
    assert email.subject == "Your backlink is ready for review"
    assert f"/orders/{order_id}/?token={token}" in email.body
    (request_row,) = JobRequest.objects.filter(subject_id=order_id)
    assert (request_row.job_id, request_row.state, request_row.enqueue_count) == (
        f"backlink-{order_id}-run-1",
        JobRequest.State.DONE,
        1,
    )
    assert [a.outcome for a in request_row.attempts.all()] == ["done"]
    version = ArticleVersion.objects.get(order_draft__order_id=order_id)
    assert version.llm_model == "gpt-test"
    assert version.prompt_tokens > 0


def test_the_job_always_starts_from_the_published_version(
    api: Any, article: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script(GOOD)
    order, _ = paid_order(api, article)
    run_worker()
    version = order.drafts.get()
    assert version.base_version_id == article.published_version_id
    assert article.published_version.body_markdown in version.body_markdown.replace(
        "\n\nIf your neck aches in the morning, [memory foam pillows](<"
        + order.target_url
        + '>){rel="sponsored"} can help keep your spine aligned through the night.',
        "",
    )


@pytest.mark.parametrize(
    "bad",
    [
        [SECOND_LINK] * 3,
        [REWRITES_NEXT] * 3,
        [NO_MARK] * 3,
        ["{not json"] * 3,
        [SECOND_LINK, REWRITES_NEXT, NO_MARK],
    ],
)
def test_three_failed_quality_checks_fail_the_order_with_one_email(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any, settings: Any, bad: list[str]
) -> None:
    # The refund that follows a final failure is tested in tests/purchases/test_refunds.py.
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(*bad)
    order, _ = paid_order(api, article)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "Quality checks failed 3 times" in order.failure_reason
    assert not order.drafts.exists()
    assert [m.subject for m in outbox_for(order)] == ["We could not complete your order"]
    assert len(fake_openai.requests) == 3


def test_failures_are_fed_back_and_a_later_attempt_can_pass(
    api: Any, article: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script(SECOND_LINK, NO_MARK, GOOD)
    order, _ = paid_order(api, article)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    prompts = [r["messages"][-1]["content"] for r in fake_openai.requests]
    assert "Attempt 1 was rejected" not in prompts[0]
    assert "Attempt 1 was rejected by quality checks: " in prompts[1]
    assert "links_preserved: no other link may be added or removed" in prompts[1]
    assert "Attempt 2 was rejected by quality checks: link_mark" in prompts[2]
    report = current(order).qc_report
    assert [a["ok"] for a in report["attempts"]] == [False, False, True]


def test_a_rate_limit_waits_without_spending_a_quality_attempt(
    api: Any, article: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script({"status": 429, "headers": {"Retry-After": "0"}}, {"status": 503}, GOOD)
    order, _ = paid_order(api, article)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert len(current(order).qc_report["attempts"]) == 1


def test_an_llm_that_stays_down_past_the_patience_window_fails_the_order(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any, settings: Any
) -> None:
    # Waiting out a shorter outage is tested in tests/purchases/test_outages.py, the refund that
    # follows a final failure in tests/purchases/test_refunds.py.
    settings.AUTO_REFUND_ON_FAILURE = False
    settings.LLM_OUTAGE_PATIENCE_SECONDS = 0
    fake_openai.default = lambda request: {"status": 500}
    order, _ = paid_order(api, article)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "The writing service was unavailable for longer than we wait" in order.failure_reason
    (request_row,) = JobRequest.objects.filter(subject_id=order.id)
    assert request_row.state == JobRequest.State.FAILED
    assert [a.outcome for a in request_row.attempts.all()] == ["gave up waiting"]
    assert len(fake_openai.requests) == 3  # 1 try with its 2 in-attempt retries (test settings)
    assert len(outbox_for(order)) == 1


def test_the_offline_writer_runs_the_flow_when_no_api_key_is_set(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = paid_order(api, article)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert current(order).llm_model == OFFLINE_MODEL_NAME
    assert current(order).qc_report["writer"] == OFFLINE_MODEL_NAME
    assert len(outbox_for(order)) == 1


def test_a_job_that_runs_twice_stores_one_version_and_sends_one_email(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = paid_order(api, article)
    run_worker()
    assert backlink_integration_job(order_id=str(order.id), run=1) == "skipped"
    assert order.drafts.count() == 1
    assert EmailRecord.objects.filter(order=order).count() == 1
    assert len(outbox_for(order)) == 1


def test_the_published_article_is_untouched_until_an_editor_publishes(
    api: Any, article: Any, run_worker: Any
) -> None:
    published_before = article.published_version_id
    paid_order(api, article)
    run_worker()
    article.refresh_from_db()
    assert article.published_version_id == published_before


# --- One sentence appended to a paragraph (mode append_sentence) ----------------------------------

SENTENCE = (
    "Readers who want to sleep more soundly will find [[memory foam pillows]] a practical place to start."
)
OTHER_SENTENCE = (
    "Side sleepers who wake up stiff often get on well with [[memory foam pillows]] from the first night."
)


def append_reply(index: int, sentence: str) -> str:
    return json.dumps({"paragraph_index": index, "mode": "append_sentence", "paragraph": sentence})


def test_an_appended_sentence_ends_its_paragraph_in_the_draft_and_a_regeneration_moves_on(
    api: Any, article: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script(
        append_reply(1, SENTENCE.replace(" a practical", ". A practical")),  # two sentences: fed back
        append_reply(1, SENTENCE),
        append_reply(1, SENTENCE),  # the regeneration repeats draft 1: fed back
        append_reply(3, OTHER_SENTENCE),
    )
    order, token = paid_order(api, article)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason

    base = split_paragraphs(article.published_version.body_markdown)
    draft = split_paragraphs(current(order).body_markdown)
    link = f'[memory foam pillows](<{order.target_url}>){{rel="sponsored"}}'
    assert draft == [*base[:1], f"{base[1]} {SENTENCE.replace('[[memory foam pillows]]', link)}", *base[2:]]
    meta = current(order).backlink_metadata
    assert (meta["paragraph_index"], meta["mode"], meta["paragraph"]) == (1, "append_sentence", SENTENCE)
    prompts = [r["messages"][-1]["content"] for r in fake_openai.requests]
    assert (
        "Attempt 1 was rejected by quality checks: sentence_shape: write exactly one sentence" in prompts[1]
    )

    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert (
        api.post(
            "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth
        ).status_code
        == 202
    )
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    assert f"- at paragraph 1: {SENTENCE}" in prompts_after(fake_openai, 2)
    assert "differs_from_previous" in fake_openai.requests[3]["messages"][-1]["content"]
    draft = split_paragraphs(current(order).body_markdown)
    assert (
        draft[1] == base[1]
        and draft[3] == f"{base[3]} {OTHER_SENTENCE.replace('[[memory foam pillows]]', link)}"
    )


def prompts_after(fake_openai: Any, n: int) -> str:
    return str(fake_openai.requests[n]["messages"][-1]["content"])
