"""The customer's review loop and editorial publishing, end to end with a real worker."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.content import extract_links, join_paragraphs, normalize_href, split_paragraphs
from articles.models import Article, ArticleVersion
from articles.services import article_edit_publish
from purchases.actions import PermissionRequired
from purchases.models import Order, OrderStatus, OrderTransition
from purchases.services.review import order_approve_and_publish
from tests.conftest import checkout_event, outbox_for, signed_post
from tests.factories import ARTICLE_BODY, make_article_order, make_order, make_published_article

pytestmark = pytest.mark.django_db(transaction=True)

BASE = split_paragraphs(ARTICLE_BODY)


def reply(
    index: int, mode: str = "insert_after", words: str = "can help keep your spine aligned through the night"
) -> str:
    return json.dumps(
        {
            "paragraph_index": index,
            "mode": mode,
            "paragraph": f"If your neck aches in the morning, [[memory foam pillows]] {words}.",
        }
    )


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def drafted(
    api: Any, article: Any, run_worker: Any, event_id: str, fake_stripe: Any = None
) -> tuple[Order, str]:
    """An order in QUALITY_CHECK; paid at the fake Stripe too when given it (so it can be refunded)."""
    order, token = make_order(article)
    if fake_stripe is None:
        payload = checkout_event(order, event_id=event_id)
    else:
        fake_stripe.mark_paid(order.stripe_checkout_session_id)
        payload = fake_stripe.checkout_session_event(order.stripe_checkout_session_id, event_id=event_id)
    assert signed_post(api, payload).status_code == 200
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    return order, token


def submitted(api: Any, article: Any, run_worker: Any, event_id: str) -> tuple[Order, str]:
    order, token = drafted(api, article, run_worker, event_id)
    response = api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth(token)
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ADMIN_REVIEW"
    order.refresh_from_db()
    return order, token


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


@pytest.fixture
def reviewer(db: Any) -> User:
    """Staff who may review and reject, but not publish."""
    user = User.objects.create_user("reviewer", "reviewer@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_order", "change_order"], content_type__app_label="purchases"
        )
    )
    return user


def links_to(body: str, url: str) -> int:
    return sum(1 for link in extract_links(body) if link.href == normalize_href(url))


def published_body(article: Article) -> str:
    article.refresh_from_db()
    assert article.published_version is not None
    return article.published_version.body_markdown


def test_regenerating_three_times_always_starts_from_the_published_version(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any, settings: Any
) -> None:
    # One email per draft; how quick revisions' emails coalesce is tested in test_spend.py.
    settings.REVISION_EMAIL_MIN_INTERVAL_SECONDS = 0
    order, token = drafted(api, article, run_worker, "evt_r")
    for expected in (1, 2, 3):
        response = api.post(
            "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token)
        )
        assert response.status_code == 202, response.content
        assert response.json()["jobId"] == f"backlink-{order.id}-run-{expected + 1}"
        assert response.json()["estimatedSeconds"] >= 1
        assert api.get(f"/api/v1/purchase/status/{order.id}", **auth(token)).json()["status"] == "PROCESSING"
        run_worker()
        order.refresh_from_db()
        assert order.status == OrderStatus.QUALITY_CHECK
        assert order.regeneration_count == expected
        meta = order.current_version.backlink_metadata  # type: ignore[union-attr]
        assert meta["integration_type"] == "customer_backlink_regeneration"
        assert meta["regeneration_count"] == expected
        assert order.current_version.base_version_id == article.published_version_id  # type: ignore[union-attr]
    placements = [
        (v.backlink_metadata["paragraph_index"], v.backlink_metadata["paragraph"]) for v in order.drafts.all()
    ]
    assert len(set(placements)) == 4
    subjects = [m.subject for m in outbox_for(order)]
    assert subjects.count("Your backlink is ready for review") == 1
    assert subjects.count("Your revised backlink placement is ready") == 3
    drafts = api.get(f"/api/v1/purchase/versions/{order.id}", **auth(token)).json()
    assert [d["draftNumber"] for d in drafts] == [4, 3, 2, 1]
    assert drafts[0]["current"] is True
    assert "memory foam pillows" in drafts[0]["preview"]


def test_regenerating_while_a_job_is_queued_is_refused(api: Any, article: Any, run_worker: Any) -> None:
    order, token = drafted(api, article, run_worker, "evt_q")
    first = api.post(
        "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token)
    )
    assert first.status_code == 202
    again = api.post(
        "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token)
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "action_not_allowed"
    order.refresh_from_db()
    assert order.job_runs == 2


def test_regenerate_and_submit_are_refused_outside_quality_check(api: Any, article: Any) -> None:
    order, token = make_order(article)
    for url in ("/api/v1/purchase/regenerate-backlink", "/api/v1/purchase/submit-for-review"):
        response = api.post(url, {"orderId": str(order.id)}, format="json", **auth(token))
        assert response.status_code == 409
    assert api.post(
        "/api/v1/purchase/regenerate-backlink", {"orderId": "nope"}, format="json", **auth(token)
    ).json()["error"]["fields"] == {"orderId": ["Must be a valid UUID."]}
    foreign = api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth("x")
    )
    assert foreign.status_code == 404


def test_submitting_tells_the_editors(api: Any, article: Any, run_worker: Any, mailoutbox: Any) -> None:
    order, _ = submitted(api, article, run_worker, "evt_s")
    assert any(
        f"/admin/purchases/order/{order.id}/change/" in m.body
        for m in mailoutbox
        if "editors@localhost" in m.to
    )


def test_publishing_b_after_a_keeps_both_links_when_bs_paragraph_is_unchanged(
    api: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User, mailoutbox: Any
) -> None:
    fake_openai.script(reply(1), reply(5, words="are worth trying if you sleep on your side"))
    order_a, _ = submitted(api, article, run_worker, "evt_a")
    order_b, _ = submitted(api, article, run_worker, "evt_b")
    assert order_approve_and_publish(order_id=order_a.id, actor=editor).outcome == "published"

    result = order_approve_and_publish(order_id=order_b.id, actor=editor)

    assert result.outcome == "carried_over"
    body = published_body(article)
    assert links_to(body, order_a.target_url) == 1
    assert links_to(body, order_b.target_url) == 1
    paragraphs = split_paragraphs(body)
    assert [p for p in paragraphs if "memory foam pillows" not in p] == BASE
    order_b.refresh_from_db()
    assert order_b.status == OrderStatus.PUBLISHED
    assert order_b.current_version.backlink_metadata["carried_over_from_version_id"]  # type: ignore[union-attr]
    assert [m.subject for m in outbox_for(order_b)].count("Your link is live") == 1
    page = api.get(f"/articles/{article.slug}/")
    assert page.content.decode().count('rel="sponsored"') == 2


EDITOR_SECTION = [
    "## Skip the late coffee",
    "Caffeine stays in the blood for hours, so an afternoon coffee can still keep you awake at midnight.",
]


@pytest.mark.parametrize("mode", ["insert_after", "replace"])
def test_a_link_carried_over_below_paragraphs_an_editor_added_stays_at_its_own_paragraph(
    api: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User, mode: str
) -> None:
    hung_on = BASE[5]  # "Bright screens late at night…", unchanged by the editor
    fake_openai.script(reply(5, mode=mode))
    order, _ = submitted(api, article, run_worker, "evt_above")
    draft = split_paragraphs(order.current_version.body_markdown)  # type: ignore[union-attr]
    (link_paragraph,) = [p for p in draft if links_to(p, order.target_url)]
    placed = [hung_on, link_paragraph] if mode == "insert_after" else [link_paragraph]
    assert draft == BASE[:5] + placed + BASE[6:]
    # An editor publishes a new section above the link's paragraph, moving it down two places.
    article_edit_publish(
        article=article,
        title=article.title,
        body_markdown=join_paragraphs(BASE[:4] + EDITOR_SECTION + BASE[4:]),
        actor=editor,
    )
    live = split_paragraphs(published_body(article))

    result = order_approve_and_publish(order_id=order.id, actor=editor)

    assert result.outcome == "carried_over"
    at = live.index(hung_on)
    assert split_paragraphs(published_body(article)) == live[:at] + placed + live[at + 1 :]


# A draft that rewrites paragraph 3, which a later draft placed on the same base hangs its link on.
REWRITES_PARAGRAPH_3 = json.dumps(
    {
        "paragraph_index": 3,
        "mode": "replace",
        "paragraph": "Going to bed at the same time every day trains your body clock, and "
        "[[memory foam pillows]] make that routine more comfortable.",
    }
)


def test_publishing_b_after_a_rewrote_its_paragraph_reruns_b_on_the_new_version(
    api: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User, mailoutbox: Any
) -> None:
    fake_openai.script(REWRITES_PARAGRAPH_3, reply(3), reply(7))
    order_a, _ = submitted(api, article, run_worker, "evt_a")
    order_b, token_b = submitted(api, article, run_worker, "evt_b")
    order_approve_and_publish(order_id=order_a.id, actor=editor)

    result = order_approve_and_publish(order_id=order_b.id, actor=editor)

    assert result.outcome == "rebased"
    order_b.refresh_from_db()
    assert order_b.status == OrderStatus.PROCESSING
    run_worker()
    order_b.refresh_from_db()
    assert order_b.status == OrderStatus.QUALITY_CHECK
    meta = order_b.current_version.backlink_metadata  # type: ignore[union-attr]
    assert meta["integration_type"] == "customer_backlink_rebase"
    assert order_b.regeneration_count == 0
    assert order_b.current_version.base_version_id == Article.objects.get(pk=article.pk).published_version_id  # type: ignore[union-attr]
    assert "Your revised backlink placement is ready" in [m.subject for m in outbox_for(order_b)]
    api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order_b.id)}, format="json", **auth(token_b)
    )
    assert order_approve_and_publish(order_id=order_b.id, actor=editor).outcome == "published"
    body = published_body(article)
    assert links_to(body, order_a.target_url) == 1
    assert links_to(body, order_b.target_url) == 1


def test_reject_then_regenerate_resubmit_and_publish(
    api: Any, client: Any, article: Any, run_worker: Any, editor: User, mailoutbox: Any
) -> None:
    order, token = submitted(api, article, run_worker, "evt_rej")
    client.force_login(editor)
    response = client.post(
        f"/admin/purchases/order/{order.id}/reject/", {"reason": "Please place it near the intro."}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK
    transition = OrderTransition.objects.filter(order=order).last()
    assert transition is not None
    assert (transition.from_status, transition.to_status, transition.actor, transition.reason) == (
        "ADMIN_REVIEW",
        "QUALITY_CHECK",
        editor,
        "Please place it near the intro.",
    )
    rejection = [m for m in outbox_for(order) if m.subject == "Your editor asked for a different placement"]
    assert len(rejection) == 1
    assert "Please place it near the intro." in rejection[0].body

    api.post("/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token))
    run_worker()
    api.post("/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth(token))
    response = client.post(f"/admin/purchases/order/{order.id}/publish/")
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PUBLISHED
    assert order.regeneration_count == 1
    assert links_to(published_body(article), order.target_url) == 1


def test_a_reject_without_a_reason_changes_nothing(
    client: Any, api: Any, article: Any, run_worker: Any, editor: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_nr")
    client.force_login(editor)
    response = client.post(f"/admin/purchases/order/{order.id}/reject/", {"reason": "  "})
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.ADMIN_REVIEW


def test_staff_without_the_publish_permission_cannot_publish_by_any_path(
    api: Any, client: Any, article: Any, run_worker: Any, reviewer: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_p")
    with pytest.raises(PermissionRequired):
        order_approve_and_publish(order_id=order.id, actor=reviewer)
    client.force_login(reviewer)
    client.post(f"/admin/purchases/order/{order.id}/publish/")
    client.post(
        "/admin/purchases/order/", {"action": "approve_and_publish", "_selected_action": [str(order.id)]}
    )
    page = client.get(f"/admin/purchases/order/{order.id}/change/")
    assert page.status_code == 200
    assert b"Approve &amp; publish" not in page.content
    order.refresh_from_db()
    article.refresh_from_db()
    assert order.status == OrderStatus.ADMIN_REVIEW
    assert article.published_version.kind == ArticleVersion.Kind.ORIGINAL
    client.post(f"/admin/purchases/order/{order.id}/reject/", {"reason": "Too salesy."})
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK


def test_the_bulk_action_publishes_several_orders(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User
) -> None:
    fake_openai.script(reply(1), reply(5, words="are worth trying if you sleep on your side"))
    a, _ = submitted(api, article, run_worker, "evt_1")
    b, _ = submitted(api, article, run_worker, "evt_2")
    client.force_login(editor)
    response = client.post(
        "/admin/purchases/order/",
        {"action": "approve_and_publish", "_selected_action": [str(a.id), str(b.id)]},
    )
    assert response.status_code == 302
    assert set(Order.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {"PUBLISHED"}
    body = published_body(article)
    assert links_to(body, a.target_url) == links_to(body, b.target_url) == 1


def test_admin_pages_render_for_orders_in_every_status(client: Any, editor: User) -> None:
    article = make_published_article(max_backlinks=20)
    client.force_login(editor)
    orders = []
    for status in OrderStatus:
        order, _ = make_order(article)
        Order.objects.filter(pk=order.pk).update(status=status)
        orders.append(order)
    assert client.get("/admin/purchases/order/").status_code == 200
    for status in OrderStatus:
        assert client.get(f"/admin/purchases/order/?status__exact={status}").status_code == 200
    for order in orders:
        assert client.get(f"/admin/purchases/order/{order.id}/change/").status_code == 200
    assert client.get(f"/admin/purchases/order/?q={orders[0].customer_email}").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/django_rq/dashboard/").status_code == 200


def test_the_review_page_shows_the_diff_and_qc(
    api: Any, client: Any, article: Any, run_worker: Any, editor: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_v")
    client.force_login(editor)
    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    assert "Changes against the published base" in page
    assert "rel <code>sponsored</code>" in page
    assert "Quality checks" in page
    assert "Timeline" in page


def test_staff_refund_from_the_review_page_and_in_bulk(
    api: Any, client: Any, run_worker: Any, editor: User, fake_stripe: Any
) -> None:
    article = make_published_article(max_backlinks=10)
    one, _ = drafted(api, article, run_worker, "evt_rf1", fake_stripe)
    two, _ = drafted(api, article, run_worker, "evt_rf2", fake_stripe)
    client.force_login(editor)
    page = client.get(f"/admin/purchases/order/{one.id}/change/")
    assert b"Refund in full" in page.content
    client.post(f"/admin/purchases/order/{one.id}/refund/", {"reason": "Customer cancelled."})
    client.post(
        "/admin/purchases/order/",
        {"action": "refund", "_selected_action": [str(two.id)], "apply": "1", "reason": "Duplicate order."},
    )
    for order in (one, two):
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED
        assert order.refunded_amount == order.amount
    assert sorted(r["payment_intent"] for r in fake_stripe.refunds) == sorted(
        [one.stripe_payment_intent_id, two.stripe_payment_intent_id]
    )
    assert client.get(f"/admin/purchases/order/{one.id}/change/").status_code == 200


def test_an_order_is_named_by_its_kind_short_id_and_status_label(article: Any) -> None:
    order, _ = make_order(article)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ADMIN_REVIEW)
    order.refresh_from_db()

    assert str(order) == f"Backlink in a published article {str(order.id)[:8]} – Waiting for editor"


def test_the_order_list_shows_amount_with_currency_and_short_labels_in_fewer_columns(
    client: Any, article: Any, editor: User
) -> None:
    order, _ = make_order(article)
    make_article_order(topic="A topic long enough to be cut short in the order list, surely")
    client.force_login(editor)

    listing = client.get("/admin/purchases/order/").content.decode()

    assert "49.00 USD" in listing
    assert ">Backlink<" in listing and ">Article<" in listing
    assert "A topic long enough to be cut short in …" in listing
    assert "Pending payment" in listing
    assert "column-created_at" not in listing and "column-currency" not in listing
    assert "sortable column-age" in listing and "sortable column-amount_with_currency" in listing


def test_the_order_list_costs_no_query_per_row(client: Any, article: Any, editor: User) -> None:
    client.force_login(editor)
    make_order(article)
    with CaptureQueriesContext(connection) as one:
        client.get("/admin/purchases/order/")
    make_order(article)
    make_article_order()

    with CaptureQueriesContext(connection) as three:
        client.get("/admin/purchases/order/")

    assert len(three.captured_queries) == len(one.captured_queries)


def test_the_change_page_offers_no_save_buttons_and_keeps_the_review_forms_outside_the_change_form(
    api: Any, client: Any, article: Any, run_worker: Any, editor: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_ns")
    client.force_login(editor)

    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()

    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"', f"{order.id}/delete/"):
        assert button not in page
    change_form = page.index('id="order_form"')
    # A form nested in another is dropped by browsers: the review's own forms come first.
    for action in ("publish", "reject", "refund"):
        assert page.index(f"/admin/purchases/order/{order.id}/{action}/") < change_form


def test_staff_who_may_only_view_orders_see_the_review_without_any_action(
    api: Any, client: Any, article: Any, run_worker: Any
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_vo")
    viewer = User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_order", content_type__app_label="purchases")
    )
    client.force_login(viewer)

    response = client.get(f"/admin/purchases/order/{order.id}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Changes against the published base" in page
    assert 'name="_save"' not in page
    assert f"/admin/purchases/order/{order.id}/reject/" not in page
    assert f"/admin/purchases/order/{order.id}/publish/" not in page


def test_the_review_panel_labels_the_reason_and_sets_money_apart(
    api: Any, client: Any, article: Any, run_worker: Any, editor: User
) -> None:
    order, _ = submitted(api, article, run_worker, "evt_m")
    client.force_login(editor)

    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()

    assert '<label for="id_reason">Reason sent to the customer:</label>' in page
    money = page[page.index("<h3>Money</h3>") :]
    assert "refunded so far: <strong>0.00 USD</strong>" in money
    assert f'class="deletelink" href="/admin/purchases/order/{order.id}/refund/">Refund in full…' in money
    assert f'<a href="{order.target_url}" rel="noopener nofollow" target="_blank">' in page


def test_the_review_page_names_draft_types_and_formats_every_cost_alike(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User
) -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 100}  # $0.000150 + $0.000060
    fake_openai.script(
        {"content": reply(1), "usage": usage},
        {"content": reply(5, words="are worth trying if you sleep on your side"), "usage": usage},
    )
    order, token = drafted(api, article, run_worker, "evt_c")
    api.post("/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token))
    run_worker()
    client.force_login(editor)

    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()

    drafts = page[page.index("<h3>Drafts") : page.index("<h3>Timeline")]
    assert "<td>Regeneration</td>" in drafts and "<td>First draft</td>" in drafts
    assert "customer_backlink" not in drafts
    assert drafts.count('<td class="num">$0.000210</td>') == 2
    assert '<th class="num">$0.000420</th>' in drafts
    assert "Proposal: Draft 2 (article v3) · Regeneration" in page


def test_the_review_page_of_an_article_order_shows_the_brief_and_no_published_base(
    api: Any, client: Any, run_worker: Any, editor: User
) -> None:
    order, token = make_article_order(topic="Choosing a pillow for side sleepers", word_count=300)
    assert signed_post(api, checkout_event(order, event_id="evt_art")).status_code == 200
    run_worker()
    api.post("/api/v1/purchase/submit-for-review", {"orderId": str(order.id)}, format="json", **auth(token))
    order.refresh_from_db()
    assert order.status == OrderStatus.ADMIN_REVIEW
    client.force_login(editor)

    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()

    assert "<h3>The brief</h3>" in page
    assert "<td>Choosing a pillow for side sleepers</td>" in page
    assert "pillow loft, cervical support" in page
    words = page[page.index("<th>Words</th>") :]
    assert re.match(
        r"<th>Words</th><td>\d+ in Draft 1 \(article v1\) · 300 requested \(255–345 accepted\)</td>", words
    )
    assert "Published base" not in page and "Side by side" not in page
    assert "Proposal: Draft 1 (article v1) · First draft (article)" in page
    assert "Approve &amp; publish" in page
