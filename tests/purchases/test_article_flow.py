"""The whole new-article flow with a real RQ worker, fake Stripe and fake OpenAI at the HTTP boundary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from articles.costs import estimate_cost_usd
from articles.models import Article, ArticleVersion
from articles.offline_writer import OFFLINE_MODEL_NAME
from articles.services import version_publish
from purchases.jobs import article_generation_job
from purchases.models import EmailRecord, Order, OrderStatus
from purchases.selectors import order_llm_usage
from purchases.services.review import order_approve_and_publish, order_regenerate
from tests.conftest import checkout_event, outbox_for, signed_post
from tests.factories import (
    ANCHOR,
    ARTICLE_BODY,
    KEYWORDS,
    TITLE,
    article_body,
    article_reply,
    make_article_order,
    make_published_article,
)
from tests.fakes import sign_stripe_payload

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = article_reply()
# A published article's text pasted into an otherwise fine draft.
PASTED = ARTICLE_BODY.split("\n", 1)[1].replace(
    "[sleep foundation](https://www.sleepfoundation.org/)", "sleep foundation"
)


def current(order: Order) -> ArticleVersion:
    order.refresh_from_db()
    assert order.current_version is not None
    return order.current_version


def paid_article_order(api: Any, event_id: str = "evt_pay", **overrides: Any) -> tuple[Order, str]:
    order, token = make_article_order(**overrides)
    assert signed_post(api, checkout_event(order, event_id=event_id)).status_code == 200
    return order, token


def regenerate(order: Order) -> None:
    """The customer's "regenerate" (the service behind POST /api/v1/purchase/regenerate-backlink)."""
    order_regenerate(order_id=order.id)


def prompt(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def test_checkout_to_quality_check_through_stripe_and_openai(
    api: Any, fake_stripe: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.script(GOOD)
    checkout = api.post(
        "/api/v1/purchase/checkout",
        {
            "orderType": "article",
            "topic": "Choosing a pillow for side sleepers",
            "keywords": list(KEYWORDS),
            "wordCount": 300,
            "targetUrl": "https://shop.example-store.com/pillows",
            "anchorText": ANCHOR,
            "customerEmail": "buyer@example.com",
        },
        format="json",
    )
    assert checkout.status_code == 201, checkout.content
    order_id, token = checkout.json()["orderId"], checkout.json()["orderToken"]
    session_id = Order.objects.get(pk=order_id).stripe_checkout_session_id
    assert fake_stripe.sessions[session_id]["amount_total"] == 19900
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
    assert (queued["kind"], queued["status"], queued["queue"]["state"]) == ("article", "PROCESSING", "queued")
    assert queued["queue"]["jobId"] == f"article-{order_id}-run-1"
    content = api.get(f"/api/v1/purchase/content/{order_id}", **auth)
    assert (content.status_code, content.json()["error"]["code"]) == (409, "no_content")

    run_worker()

    status = api.get(f"/api/v1/purchase/status/{order_id}", **auth).json()
    assert status["status"] == "QUALITY_CHECK"
    assert (status["queue"]["state"], status["queue"]["progress"]) == ("finished", 100)
    assert status["actions"] == ["regenerate", "submit_for_review"]
    assert "Side sleepers ask more of a pillow" in status["preview"]
    content = api.get(f"/api/v1/purchase/content/{order_id}", **auth).json()
    assert content["title"] == TITLE
    assert f"<h1>{TITLE}</h1>" in content["bodyHtml"]
    assert (
        f'<a href="https://shop.example-store.com/pillows" rel="sponsored">{ANCHOR}</a>'
        in content["bodyHtml"]
    )
    meta = content["backlinkMetadata"]
    assert meta["integration_type"] == "customer_article"
    assert (meta["topic"], meta["keywords"], meta["word_count"]) == (
        "Choosing a pillow for side sleepers",
        list(KEYWORDS),
        300,
    )
    assert meta["regeneration_count"] == 0

    order = Order.objects.select_related("article", "current_version").get(pk=order_id)
    version = current(order)
    assert order.article is not None and order.article == version.article
    assert (order.article.title, order.article.slug) == (
        TITLE,
        "how-to-choose-a-pillow-when-you-sleep-on-your-side",
    )
    assert not order.article.is_published
    assert version.kind == ArticleVersion.Kind.GENERATED
    assert (version.number, version.order_draft.run, version.order_draft.order_id) == (1, 1, order.id)
    assert version.qc_report["passed"] is True
    assert version.qc_report["checks"]["no_near_copy"] == "pass"
    assert version.qc_report["writer"] == "openai:gpt-test"
    assert version.llm_model == "gpt-test"
    assert version.prompt_tokens > 0 and version.completion_tokens > 0
    assert version.estimated_cost_usd == estimate_cost_usd(
        prompt_tokens=version.prompt_tokens, completion_tokens=version.completion_tokens
    )
    assert version.estimated_cost_usd > 0
    (request,) = fake_openai.requests
    assert request["response_format"]["json_schema"]["name"] == "sponsored_article"
    assert "https://shop.example-store.com" not in json.dumps(request["messages"])
    (email,) = outbox_for(order)
    assert email.subject == "Your sponsored article is ready for review"
    assert TITLE in email.body
    assert f"/orders/{order_id}/?token={token}" in email.body
    assert all(a["id"] != order.article.pk for a in api.get("/api/v1/articles/").json()["results"])
    page = api.get(f"/orders/{order_id}/?token={token}", follow=True)
    assert page.status_code == 200
    assert TITLE in page.content.decode()


BROKEN = [
    pytest.param(article_reply(words=150), "length", id="length"),
    pytest.param(article_reply(title=""), "title", id="title"),
    pytest.param(article_reply(headings=2), "headings", id="headings"),
    pytest.param(article_reply(keywords=KEYWORDS[:1]), "keywords", id="keywords"),
    pytest.param(article_reply(anchor=""), "link_mark", id="link-missing"),
    pytest.param(article_reply(extra=f"Again, [[{ANCHOR}]] are worth it."), "link_mark", id="link-twice"),
    pytest.param(
        article_reply(extra="Our [pillow guide](/guides/pillows) helps."),
        "no_images_or_links",
        id="other-link",
    ),
    pytest.param(
        article_reply(extra="![x](//evil.example.net/track.gif)"), "no_images_or_links", id="tracking-image"
    ),
    pytest.param(article_reply(extra="Visit www.pillow-facts.com today."), "no_urls", id="url"),
    pytest.param(article_reply(extra="Read <b>this</b> first."), "no_raw_html", id="raw-html"),
    pytest.param(article_reply(extra="I hope this helps!"), "no_chatter", id="chatter"),
    pytest.param(
        article_reply(extra="About [insert statistic] of adults do."), "no_chatter", id="placeholder"
    ),
    pytest.param(article_reply(headings=0, pasted=PASTED), "no_near_copy", id="near-copy"),
    pytest.param("{not json", "reply_json", id="not-json"),
]


@pytest.mark.parametrize(("bad", "rule"), BROKEN)
def test_a_failed_check_is_fed_back_and_the_next_attempt_passes(
    api: Any, article: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any, bad: str, rule: str
) -> None:
    fake_openai.script(bad, GOOD)
    order, _ = paid_article_order(api)
    run_worker()
    version = current(order)
    assert order.status == OrderStatus.QUALITY_CHECK
    first, second = (prompt(r) for r in fake_openai.requests)
    assert "rejected by quality checks" not in first
    assert f"Attempt 1 was rejected by quality checks: {rule}:" in second
    attempts = version.qc_report["attempts"]
    assert [a["ok"] for a in attempts] == [False, True]
    assert any(f.startswith(f"{rule}:") for f in attempts[0]["failures"])
    prompt_chars = sum(len(m["content"]) for r in fake_openai.requests for m in r["messages"])
    assert version.prompt_tokens >= prompt_chars // 4  # both attempts' tokens are on the one version
    assert [m.subject for m in outbox_for(order)] == ["Your sponsored article is ready for review"]


def test_three_failed_attempts_fail_the_order_with_one_email(
    api: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any, settings: Any
) -> None:
    # The refund that follows a final failure is covered in tests/purchases/test_refunds.py.
    settings.AUTO_REFUND_ON_FAILURE = False
    fake_openai.script(article_reply(words=150), article_reply(headings=2), article_reply(keywords=()))
    articles_before = Article.objects.count()
    order, _ = paid_article_order(api)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.failure_reason.startswith("Quality checks failed 3 times. Last: keywords:")
    assert order.article_id is None
    assert Article.objects.count() == articles_before
    assert not order.drafts.exists()
    assert len(fake_openai.requests) == 3
    (email,) = outbox_for(order)
    assert email.subject == "We could not complete your order"
    assert "Choosing a pillow for side sleepers" in email.body


def test_a_near_copy_of_a_published_article_is_rejected_every_time(
    api: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any, settings: Any
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    source = make_published_article(slug="pillow-guide", body_markdown=f"# {TITLE}\n\n" + article_body())
    fake_openai.default = lambda request: GOOD
    order, _ = paid_article_order(api)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert (
        "no_near_copy: 100% of the text repeats the published article 'pillow-guide'" in order.failure_reason
    )
    assert len(fake_openai.requests) == 3
    assert len(outbox_for(order)) == 1
    source.refresh_from_db()
    assert source.published_version is not None


def test_the_same_webhook_delivered_twice_runs_one_job(
    api: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.default = lambda request: GOOD
    order, _ = make_article_order()
    event = checkout_event(order, event_id="evt_twice")
    first, second = signed_post(api, event), signed_post(api, event)
    assert (first.json()["outcome"], second.json()["outcome"]) == ("paid", "duplicate")
    run_worker()
    order.refresh_from_db()
    assert (order.status, order.job_runs) == (OrderStatus.QUALITY_CHECK, 1)
    assert order.drafts.count() == 1
    assert len(fake_openai.requests) == 1
    assert len(outbox_for(order)) == 1


def test_a_job_that_runs_twice_stores_one_version_and_sends_one_email(
    api: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = paid_article_order(api)
    run_worker()
    assert article_generation_job(order_id=str(order.id), run=1) == "skipped"
    assert order.drafts.count() == 1
    assert Article.objects.filter(orders=order).count() == 1
    assert EmailRecord.objects.filter(order=order).count() == 1
    assert len(outbox_for(order)) == 1


def test_the_offline_writer_runs_the_flow_when_no_api_key_is_set(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order, _ = paid_article_order(api, word_count=1000, keywords=["pillow loft", "sleep hygiene", "foam"])
    run_worker()
    version = current(order)
    assert order.status == OrderStatus.QUALITY_CHECK
    assert version.llm_model == OFFLINE_MODEL_NAME
    assert version.qc_report["writer"] == OFFLINE_MODEL_NAME
    assert version.qc_report["passed"] is True
    assert (version.prompt_tokens, version.completion_tokens, version.estimated_cost_usd) == (0, 0, 0)
    assert 850 <= version.qc_report["attempts"][-1]["word_count"] <= 1150
    assert [m.subject for m in outbox_for(order)] == ["Your sponsored article is ready for review"]


def test_a_regeneration_writes_a_fresh_draft_of_the_same_article(
    api: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any
) -> None:
    fake_openai.script(GOOD, article_reply(title="Side Sleeping Without the Sore Neck"))
    order, _ = paid_article_order(api)
    run_worker()
    first = current(order)
    regenerate(order)
    run_worker()
    second = current(order)
    assert order.status == OrderStatus.QUALITY_CHECK
    assert (order.regeneration_count, order.job_runs) == (1, 2)
    assert second.article_id == first.article_id
    assert (second.number, second.order_draft.run) == (2, 2)
    assert second.backlink_metadata["integration_type"] == "customer_article_regeneration"
    assert second.backlink_metadata["regeneration_count"] == 1
    assert f"- {TITLE}" in prompt(fake_openai.requests[1])
    article = Article.objects.get(pk=first.article_id)
    assert (article.title, article.slug) == (
        "Side Sleeping Without the Sore Neck",
        "side-sleeping-without-the-sore-neck",
    )
    assert Article.objects.filter(orders=order).count() == 1
    assert [m.subject for m in outbox_for(order)] == [
        "Your sponsored article is ready for review",
        "A fresh draft of your sponsored article is ready",
    ]
    assert "regeneration 1" in outbox_for(order)[1].body
    usage = order_llm_usage(order)
    assert usage["prompt_tokens"] == first.prompt_tokens + second.prompt_tokens
    assert usage["completion_tokens"] == first.completion_tokens + second.completion_tokens
    assert usage["estimated_cost_usd"] == first.estimated_cost_usd + second.estimated_cost_usd


def test_the_offline_writer_regenerates_with_a_new_title(api: Any, run_worker: Any) -> None:
    order, _ = paid_article_order(api)
    run_worker()
    first = current(order)
    regenerate(order)
    run_worker()
    second = current(order)
    assert order.status == OrderStatus.QUALITY_CHECK
    assert second.title != first.title
    assert second.body_markdown != first.body_markdown


def test_publishing_lists_the_article_in_the_catalog_and_titles_get_unique_slugs(
    api: Any, client: Any, run_worker: Any
) -> None:
    same_brief = {"target_url": "https://shop.example-store.com/pillows"}
    one, _ = paid_article_order(api, event_id="evt_one", **same_brief)
    two, _ = paid_article_order(api, event_id="evt_two", **same_brief)
    run_worker()
    first, second = current(one), current(two)
    assert first.title == second.title
    assert (first.article.slug, second.article.slug) == (first.article.slug, first.article.slug + "-2")
    version_publish(version=first)
    catalog = api.get("/api/v1/articles/").json()["results"]
    (listed,) = [a for a in catalog if a["id"] == first.article_id]
    assert (listed["title"], listed["slug"]) == (first.title, first.article.slug)
    page = client.get(f"/articles/{first.article.slug}/")
    assert page.status_code == 200
    assert 'rel="sponsored"' in page.content.decode()
    assert client.get(f"/articles/{second.article.slug}/").status_code == 404


def test_a_backlink_order_job_is_never_run_as_an_article(api: Any, article: Any, run_worker: Any) -> None:
    from tests.factories import make_order

    order, _ = make_order(article)
    assert signed_post(api, checkout_event(order, event_id="evt_backlink")).status_code == 200
    assert article_generation_job(order_id=str(order.id), run=1) == "skipped"


def test_a_rate_limit_waits_without_spending_a_quality_attempt(
    api: Any, fake_openai: Any, run_worker: Any
) -> None:
    fake_openai.script({"status": 429, "headers": {"Retry-After": "0"}}, {"status": 503}, GOOD)
    order, _ = paid_article_order(api)
    run_worker()
    assert current(order).qc_report["attempts"][0]["ok"] is True
    assert order.status == OrderStatus.QUALITY_CHECK
    assert len(fake_openai.requests) == 3


def test_an_llm_that_stays_down_past_the_patience_window_fails_the_order(
    api: Any, fake_openai: Any, run_worker: Any, mailoutbox: Any, settings: Any
) -> None:
    settings.AUTO_REFUND_ON_FAILURE = False
    settings.LLM_OUTAGE_PATIENCE_SECONDS = 0  # the outage is waited out for no time at all
    fake_openai.default = lambda request: {"status": 500}
    order, _ = paid_article_order(api)
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert "The writing service was unavailable for longer than we wait" in order.failure_reason
    assert len(fake_openai.requests) == 3  # 1 try with its 2 in-attempt retries (test settings)
    assert [m.subject for m in outbox_for(order)] == ["We could not complete your order"]


def test_an_article_order_is_regenerated_submitted_and_published_through_the_api_and_admin(
    api: Any, client: Any, run_worker: Any, mailoutbox: Any
) -> None:
    from django.contrib.auth.models import User

    order, token = paid_article_order(api, event_id="evt_e2e")
    run_worker()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    first = current(order)
    response = api.post(
        "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth
    )
    assert response.status_code == 202
    run_worker()
    second = current(order)
    assert second.article_id == first.article_id and second.pk != first.pk
    assert (
        api.post(
            "/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth
        ).json()["status"]
        == "ADMIN_REVIEW"
    )
    editor = User.objects.create_superuser("pub", "pub@example.com", "pw")
    client.force_login(editor)
    assert client.get(f"/admin/purchases/order/{order.id}/change/").status_code == 200
    assert order_approve_and_publish(order_id=order.id, actor=editor).outcome == "published"
    order.refresh_from_db()
    assert order.status == OrderStatus.PUBLISHED
    listed = {a["id"]: a for a in api.get("/api/v1/articles/").json()["results"]}
    assert order.article_id in listed
    assert api.get(f"/articles/{listed[order.article_id]['slug']}/").status_code == 200
    assert [m.subject for m in outbox_for(order)].count("Your link is live") == 1
