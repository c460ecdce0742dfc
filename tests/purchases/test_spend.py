"""Spend limits per order (issue 9, "Spend"), each test named after the attack it stops.

Through the real HTTP stack with a real RQ worker; the model is the fake OpenAI server, so the
real ``openai`` client runs and every call the service makes is recorded there.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from articles.openai_api import LLMReply
from purchases.models import EmailKind, EmailRecord, Order, OrderStatus, RunSpend
from purchases.services.failures import order_retry
from purchases.services.runs import orders_reconcile
from purchases.services.spend import run_spend_record
from queueing.models import JobRequest
from tests.conftest import checkout_event, outbox_for, signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

REVISED = "Your revised backlink placement is ready"


def reply(n: int) -> str:
    """A passing placement that differs from every other ``n``."""
    return json.dumps(
        {
            "paragraph_index": 3,
            "mode": "insert_after",
            "paragraph": f"If your neck aches in the morning, [[memory foam pillows]] can help keep your spine "
            f"aligned for the {n}th night in a row.",
        }
    )


def distinct_replies() -> Iterator[str]:
    return (reply(n) for n in itertools.count(1))


BAD = json.dumps(
    {"paragraph_index": 3, "mode": "insert_after", "paragraph": "No link mark in this one at all."}
)


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def drafted(api: Any, article: Any, run_worker: Any) -> tuple[Order, str]:
    order, token = make_order(article, anchor_text="memory foam pillows")
    assert signed_post(api, checkout_event(order, event_id=f"evt_{order.pk}")).status_code == 200
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    return order, token


def regenerate(api: Any, order: Order, token: str) -> Any:
    return api.post(
        "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token)
    )


def status(api: Any, order: Order, token: str) -> dict[str, Any]:
    data: dict[str, Any] = api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()
    return data


def prompt_of(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


# --- Regenerations --------------------------------------------------------------------------------


def test_the_default_caps_are_far_above_what_a_customer_uses(settings: Any) -> None:
    assert settings.MAX_REGENERATIONS_PER_ORDER == 50
    assert settings.MAX_TOKENS_PER_ORDER == 1_000_000
    assert settings.PROMPT_PREVIOUS_DRAFTS == 3


def test_25_regenerations_of_one_order_stop_at_the_regeneration_cap(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any, settings: Any
) -> None:
    settings.MAX_REGENERATIONS_PER_ORDER = 5
    settings.REVISION_EMAIL_MIN_INTERVAL_SECONDS = 0  # every draft's email, to count them
    replies = distinct_replies()
    fake_openai.default = lambda request: next(replies)
    order, token = drafted(api, article, run_worker)

    answers = []
    for _ in range(25):
        answers.append(regenerate(api, order, token))
        run_worker()

    assert [a.status_code for a in answers] == [202] * 5 + [409] * 20
    error = answers[-1].json()["error"]
    assert error["code"] == "action_not_allowed"
    assert "5 regenerations, the most one order may have" in error["message"]
    assert "MAX_REGENERATIONS_PER_ORDER" not in error["message"]  # no setting's name for the customer
    assert len(fake_openai.requests) == 6  # the first draft and 5 regenerations
    order.refresh_from_db()
    assert (order.status, order.regeneration_count) == (OrderStatus.QUALITY_CHECK, 5)
    assert [m.subject for m in outbox_for(order)].count(REVISED) == 5
    answer = status(api, order, token)
    assert answer["actions"] == ["submit_for_review"]  # regenerate is no longer offered
    page = api.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()
    assert "Try another placement" not in page and "Submit for editorial review" in page


# --- Prompt size ----------------------------------------------------------------------------------


def test_the_prompt_of_the_10th_regeneration_carries_only_the_last_3_drafts(
    api: Any, article: Any, fake_openai: Any, run_worker: Any
) -> None:
    replies = distinct_replies()
    fake_openai.default = lambda request: next(replies)
    order, token = drafted(api, article, run_worker)
    for _ in range(10):
        assert regenerate(api, order, token).status_code == 202
        run_worker()

    prompts = [prompt_of(r) for r in fake_openai.requests]
    assert len(prompts) == 11
    tenth = prompts[-1]
    # Drafts 1..10 were on the page before the 10th regeneration: only 8, 9 and 10 are in its prompt.
    shown = [n for n in range(1, 11) if f"for the {n}th night" in tenth]
    assert shown == [8, 9, 10]
    # The 4th regeneration already showed 3 drafts: the prompt stopped growing (one digit more in "10th").
    assert len(tenth) - len(prompts[4]) <= 1
    assert order.drafts.count() == 11


# --- Model calls per try --------------------------------------------------------------------------


def test_a_model_answering_500_makes_at_most_the_bounded_calls_per_try(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, settings: Any
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    settings.LLM_TRANSIENT_RETRIES = 4  # 5 calls per attempt on their own
    settings.LLM_MAX_CALLS_PER_RUN = 3
    settings.LLM_OUTAGE_PATIENCE_SECONDS = 0  # no waiting out the outage: the first try is the last
    fake_openai.default = lambda request: {"status": 500}
    order, _ = make_order(article)
    assert signed_post(api, checkout_event(order, event_id="evt_500")).status_code == 200
    run_worker()

    (request_row,) = JobRequest.objects.filter(subject_id=order.id)
    tries = request_row.attempts.count()
    assert tries == 1
    assert len(fake_openai.requests) == tries * 3
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED


def test_transient_errors_and_failed_checks_share_one_ceiling_per_try(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, settings: Any
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    settings.LLM_MAX_CALLS_PER_RUN = 3
    settings.LLM_OUTAGE_PATIENCE_SECONDS = 0  # the try that ends on a 500 is the last
    # The try: a 500 (retried), a reply that fails its checks, a 500 with no call left for a retry.
    fake_openai.default = (lambda cycle: lambda request: next(cycle))(
        itertools.cycle([{"status": 500}, BAD, {"status": 500}])
    )
    order, _ = make_order(article)
    assert signed_post(api, checkout_event(order, event_id="evt_mix")).status_code == 200
    run_worker()

    (request_row,) = JobRequest.objects.filter(subject_id=order.id)
    assert request_row.attempts.count() == 1
    assert len(fake_openai.requests) == 3


# --- Tokens ---------------------------------------------------------------------------------------


def test_tokens_of_runs_that_fail_their_checks_count_towards_the_cap(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, settings: Any
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(BAD, BAD, BAD)
    order, _ = make_order(article)
    assert signed_post(api, checkout_event(order, event_id="evt_bad")).status_code == 200
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert not order.drafts.exists()
    spent = RunSpend.objects.tokens_spent(order_id=order.id)
    assert spent > 3 * len(prompt_of(fake_openai.requests[0])) // 4  # three prompts and their replies

    # Staff retry it, but what the failed run spent leaves too little for another prompt.
    settings.MAX_TOKENS_PER_ORDER = spent + 100
    order_retry(
        order_id=order.id,
        actor=User.objects.create_superuser("boss", "boss@example.com", "pw"),
        reason="the budget was raised",
    )
    run_worker()

    assert len(fake_openai.requests) == 3  # the retry stopped before calling the model
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "MAX_TOKENS_PER_ORDER" in order.failure_reason


def test_a_regeneration_past_the_token_cap_stops_before_the_model_and_keeps_the_draft(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, settings: Any, mailoutbox: Any
) -> None:
    replies = distinct_replies()
    fake_openai.default = lambda request: next(replies)
    order, token = drafted(api, article, run_worker)
    draft = order.current_version
    settings.MAX_TOKENS_PER_ORDER = RunSpend.objects.tokens_spent(order_id=order.id) + 100
    assert "regenerate" in status(api, order, token)["actions"]

    assert regenerate(api, order, token).status_code == 202  # under the cap: allowed
    run_worker()

    assert len(fake_openai.requests) == 1  # the regeneration never called the model
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    assert order.current_version == draft  # nothing paid is lost: the draft is still there to submit
    answer = status(api, order, token)
    assert "used its writing allowance" in answer["failureReason"]
    assert "used its writing allowance" in answer["statusMessage"]
    page = api.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()
    assert "used its writing allowance" in page and "MAX_TOKENS_PER_ORDER" not in page
    assert [m.subject for m in outbox_for(order)] == ["Your backlink is ready for review"]

    settings.MAX_TOKENS_PER_ORDER = RunSpend.objects.tokens_spent(order_id=order.id)
    refused = regenerate(api, order, token)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "action_not_allowed"
    assert "used its writing allowance" in refused.json()["error"]["message"]
    submitted = api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth(token)
    )
    assert submitted.status_code == 200


# --- Emails ---------------------------------------------------------------------------------------


def test_revision_emails_of_quick_regenerations_coalesce_into_one_a_minute(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    replies = distinct_replies()
    fake_openai.default = lambda request: next(replies)
    order, token = drafted(api, article, run_worker)
    for _ in range(3):
        assert regenerate(api, order, token).status_code == 202
        run_worker()

    # Within the minute: the first draft's email and one revision email, however many drafts came.
    assert [m.subject for m in outbox_for(order)] == ["Your backlink is ready for review", REVISED]
    drafts = api.get(f"/api/v1/purchase/versions/{order.id}", **auth(token)).json()
    assert [d["draftNumber"] for d in drafts] == [4, 3, 2, 1]  # the page still shows every draft

    # A minute later the reconciler's unsent-email pass sends one email for the newest draft.
    earlier = timezone.now() - timedelta(seconds=61)
    EmailRecord.objects.filter(order=order).update(created_at=earlier)
    EmailRecord.objects.filter(order=order, sent_at__isnull=False).update(sent_at=earlier)
    orders_reconcile(grace=timedelta(0))

    subjects = [m.subject for m in outbox_for(order)]
    assert subjects == ["Your backlink is ready for review", REVISED, REVISED]
    revisions = EmailRecord.objects.filter(order=order, kind=EmailKind.REVISION_READY).order_by("pk")
    first, middle, last = revisions
    assert first.sent_at is not None and last.sent_at is not None
    assert (middle.sent_at, middle.coalesced_into_id) == (None, last.pk)
    orders_reconcile(grace=timedelta(0))
    assert len(outbox_for(order)) == 3  # nothing more: the folded email is never sent


# --- Recording a run's spend ----------------------------------------------------------------------


def test_replies_of_one_run_recorded_at_once_from_many_threads_all_add_up(article: Any) -> None:
    order, _ = make_order(article)

    def record(n: int) -> None:
        try:
            run_spend_record(
                order_id=order.id,
                run=1,
                reply=LLMReply(content="", model=f"model-{n}", prompt_tokens=10, completion_tokens=n),
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(record, range(1, 17)))
    run_spend_record(order_id=order.id, run=2, reply=LLMReply("", "other", 1, 1))

    spend = RunSpend.objects.get(order=order, run=1)
    assert (spend.replies, spend.prompt_tokens, spend.completion_tokens) == (16, 160, sum(range(1, 17)))
    assert spend.llm_model.startswith("model-")
    assert RunSpend.objects.tokens_spent(order_id=order.id) == 160 + sum(range(1, 17)) + 2
