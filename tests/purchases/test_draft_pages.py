"""Every draft: numbered alike for the customer and the editors, a page each, and submitting any
draft made on the article's current published version after a confirmation step.

Real flows: checkout, a signed webhook, a real RQ worker writing through the fake OpenAI server.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from articles.content import join_paragraphs, split_paragraphs
from articles.models import ArticleVersion
from articles.services import article_edit_publish
from purchases.models import Order, OrderStatus, OrderTransition
from tests.conftest import checkout_event, signed_post
from tests.factories import ARTICLE_BODY, article_reply, make_article_order, make_order

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = json.dumps(
    {
        "paragraph_index": 1,
        "mode": "insert_after",
        "paragraph": "If your neck's aching in the morning, [[memory foam pillows]] can keep your spine aligned.",
    }
)
SECOND = json.dumps(
    {
        "paragraph_index": 5,
        "mode": "insert_after",
        "paragraph": "Side sleepers often find that [[memory foam pillows]] ease pressure on the shoulder.",
    }
)


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


class _Text(HTMLParser):
    """What a reader sees: the text of the page (entities decoded), not its markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in {"script", "style", "title"}

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in {"script", "style", "title"}

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def assert_clean(text: str) -> None:
    """No writer's mark, Markdown syntax or HTML entity in what the customer reads."""
    for leftover in ("[[", "]]", "](", "{rel", "**", "&#", "&amp;", "&quot;"):
        assert leftover not in text, f"{leftover!r} reached the customer: {text}"


def paid(api: Any, order: Order, event_id: str) -> None:
    assert signed_post(api, checkout_event(order, event_id=event_id)).status_code == 200


def two_drafts(api: Any, article: Any, run_worker: Any, fake_openai: Any, event_id: str) -> tuple[Order, str]:
    """A backlink order in QUALITY_CHECK with drafts 1 and 2 (regenerated), the second current."""
    fake_openai.script(FIRST, SECOND)
    order, token = make_order(article)
    paid(api, order, event_id)
    run_worker()
    response = api.post(
        "/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token)
    )
    assert response.status_code == 202, response.content
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    assert order.drafts.count() == 2
    return order, token


def draft_version(order: Order, number: int) -> ArticleVersion:
    return order.drafts.get(order_draft__number=number)


def submit(api: Any, order: Order, token: str, **body: Any) -> Any:
    return api.post(
        "/api/v1/purchase/submit-for-review", {"orderId": str(order.id), **body}, format="json", **auth(token)
    )


def snapshot(order: Order) -> tuple[str, int | None, int]:
    order.refresh_from_db()
    return order.status, order.current_version_id, OrderTransition.objects.filter(order=order).count()


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


def republish(article: Any, editor: User) -> ArticleVersion:
    """An editor changes the published article: a new published version, through the articles service."""
    article.refresh_from_db()
    paragraphs = split_paragraphs(ARTICLE_BODY)
    paragraphs[2] = "Going to bed and waking at the same time every day trains your body clock."
    return article_edit_publish(
        article=article, title=article.title, body_markdown=join_paragraphs(paragraphs), actor=editor
    )


# --- numbering ------------------------------------------------------------------------------------


def test_drafts_are_numbered_alike_on_the_order_page_the_api_and_the_admin(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_num")
    first, second = draft_version(order, 1), draft_version(order, 2)
    # The article's own version 1 is the published text: the order's drafts are its versions 2 and 3.
    assert (first.number, second.number) == (2, 3)

    page = visible_text(client.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode())
    versions = api.get(f"/api/v1/purchase/versions/{order.id}", **auth(token)).json()
    client.force_login(editor)
    admin_html = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    admin_page = visible_text(admin_html)
    draft_list = visible_text(client.get("/admin/purchases/orderdraft/").content.decode())

    assert "Draft 2 — your paragraph is highlighted" in page and "Draft 1," in page
    assert [(d["draftNumber"], d["versionId"]) for d in versions] == [(2, second.pk), (1, first.pk)]
    assert "Proposal: Draft 2 (article v3)" in admin_page
    assert "<td>Draft 2 (article v3) (current)</td><td>Regeneration</td>" in admin_html
    assert "<td>Draft 1 (article v2)</td><td>First draft</td>" in admin_html
    assert "draft 2 (article version 3) passed quality checks" in admin_page
    assert "Draft 1 (article v2)" in draft_list and "Draft 2 (article v3)" in draft_list


# --- the draft page -------------------------------------------------------------------------------


def test_a_draft_page_opens_with_the_token_then_with_the_cookie_the_order_page_set(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_page")

    response = client.get(f"/orders/{order.id}/drafts/1/?token={token}")
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.id}/drafts/1/"
    cookie = response.cookies[f"order_token_{order.id.hex}"]
    assert cookie["path"] == f"/orders/{order.id}/" and cookie["httponly"]

    html = client.get(response["Location"]).content.decode()
    text = visible_text(html)
    assert "Draft 1 of 2" in text
    # The paragraph the draft added is marked, and the mark is named in words.
    (added,) = re.findall(r'<div class="change">(.*?)</div>', html, flags=re.S)
    assert "Added in this draft" in added and "<ins>" in added and "keep your spine aligned" in added
    assert "<del>" not in added
    assert "What is marked:" in text and "published article (version 1)" in text
    assert "Draft 2 →" in text and "← Draft" not in text and "Back to your order" in text
    assert "Submit draft 1 for editorial review" in text
    assert_clean(text)

    # The cookie alone opens the other draft and the order page.
    second = client.get(f"/orders/{order.id}/drafts/2/")
    assert second.status_code == 200 and "Draft 2 of 2" in visible_text(second.content.decode())
    assert "← Draft 1" in visible_text(second.content.decode())
    assert client.get(f"/orders/{order.id}/").status_code == 200


def test_a_draft_page_needs_the_orders_token_and_an_existing_draft(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_404")
    _, other_token = make_order(article)
    url = f"/orders/{order.id}/drafts/1/"

    assert client.get(url).status_code == 404
    assert client.get(f"{url}?token=nope").status_code == 404
    assert client.get(f"{url}?token={other_token}").status_code == 404
    assert client.get(f"/orders/{order.id}/drafts/1/submit/?token=nope").status_code == 404

    client.get(f"/orders/{order.id}/?token={token}")
    assert client.get(url).status_code == 200
    for missing in (0, 3, 99):
        assert client.get(f"/orders/{order.id}/drafts/{missing}/").status_code == 404
        assert client.get(f"/orders/{order.id}/drafts/{missing}/submit/").status_code == 404
    assert client.get(f"/orders/{order.id}/drafts/x/").status_code == 404


def test_the_order_page_lists_earlier_drafts_in_plain_words_with_their_links(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_list")

    html = client.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()

    section = html[html.index("<h2>Earlier drafts</h2>") :]
    text = visible_text(section)
    assert "Draft 1," in text and "Draft 2," not in text
    assert "If your neck's aching in the morning, memory foam pillows can keep your spine aligned." in text
    assert_clean(text)
    assert f'href="/orders/{order.id}/drafts/1/">Read draft 1</a>' in section
    assert f'href="/orders/{order.id}/drafts/1/submit/">Submit this draft</a>' in section
    # The main button asks first, for the current draft; the current draft has its own page too.
    assert f'href="/orders/{order.id}/drafts/2/submit/">Submit for editorial review</a>' in html
    assert f'href="/orders/{order.id}/drafts/2/">Read draft 2' in html
    # The versions API's previews are as clean.
    for item in api.get(f"/api/v1/purchase/versions/{order.id}", **auth(token)).json():
        assert_clean(item["preview"])
        assert "memory foam pillows" in item["preview"]


def test_an_article_orders_draft_page_shows_it_whole_as_a_new_article(
    api: Any, client: Any, run_worker: Any, fake_openai: Any
) -> None:
    fake_openai.script(article_reply(), article_reply(title="Side Sleepers and the Right Pillow Height"))
    order, token = make_article_order()
    paid(api, order, "evt_art_page")
    run_worker()
    api.post("/api/v1/purchase/regenerate-backlink", {"orderId": str(order.id)}, format="json", **auth(token))
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK and order.drafts.count() == 2, order.failure_reason

    html = client.get(f"/orders/{order.id}/drafts/1/?token={token}", follow=True).content.decode()

    text = visible_text(html)
    assert "Draft 1 of 2" in text and "a new article written for you" in text
    assert '<div class="change">' not in html and "<ins>" not in html
    assert "What your neck needs" in text
    assert_clean(text)
    # An article order has no published base: any of its drafts may go.
    assert "Submit draft 1 for editorial review" in text
    response = submit(api, order, token, versionId=draft_version(order, 1).pk)
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert (order.status, order.current_version_id) == (OrderStatus.ADMIN_REVIEW, draft_version(order, 1).pk)


# --- submitting a chosen draft --------------------------------------------------------------------


def test_submitting_draft_1_by_its_version_id_makes_it_the_one_under_review(
    api: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_v1")
    first = draft_version(order, 1)

    response = submit(api, order, token, versionId=first.pk)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ADMIN_REVIEW"
    order.refresh_from_db()
    assert (order.status, order.current_version_id) == (OrderStatus.ADMIN_REVIEW, first.pk)
    last = OrderTransition.objects.filter(order=order).latest("created_at")
    assert last.reason == "customer submitted draft 1 (article version 2)"


def test_without_a_version_id_the_current_draft_goes_as_before(
    api: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_cur")
    current = order.current_version_id

    assert submit(api, order, token).status_code == 200
    order.refresh_from_db()
    assert (order.status, order.current_version_id) == (OrderStatus.ADMIN_REVIEW, current)


def test_a_draft_made_before_the_article_was_republished_is_refused_and_nothing_changes(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any, editor: User
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_old")
    republish(article, editor)
    before = snapshot(order)

    response = submit(api, order, token, versionId=draft_version(order, 1).pk)

    assert response.status_code == 409, response.content
    body = response.json()["error"]
    assert body["code"] == "draft_outdated"
    assert "The article has changed since draft 1 was written" in body["message"]
    assert "newer draft" in body["message"]
    assert snapshot(order) == before
    # The pages no longer offer it, and say why.
    page = client.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()
    assert f"/orders/{order.id}/drafts/1/submit/" not in page
    draft_page = visible_text(client.get(f"/orders/{order.id}/drafts/1/").content.decode())
    assert "The article has changed since draft 1 was written" in draft_page
    confirm = visible_text(client.get(f"/orders/{order.id}/drafts/1/submit/").content.decode())
    assert "Yes, submit" not in confirm and "The article has changed since draft 1" in confirm
    # The current draft may still go, as before: approving carries its link over or re-runs it.
    assert submit(api, order, token, versionId=draft_version(order, 2).pk).status_code == 200


@pytest.mark.parametrize(
    "version_id",
    ["other order's draft", "an article version of no order", "abc", True, 0, -1, 1.5],
)
def test_a_version_id_that_is_not_one_of_the_orders_drafts_is_refused_naming_the_field(
    api: Any, article: Any, run_worker: Any, fake_openai: Any, version_id: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_own")
    other, _ = make_order(article)
    fake_openai.script(FIRST)
    paid(api, other, "evt_other")
    run_worker()
    other.refresh_from_db()
    if version_id == "other order's draft":
        version_id = other.current_version_id
    elif version_id == "an article version of no order":
        version_id = article.published_version_id
    before = snapshot(order)

    response = submit(api, order, token, versionId=version_id)

    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["versionId"]
    assert snapshot(order) == before


# --- the confirmation step ------------------------------------------------------------------------


def test_the_confirmation_page_asks_then_its_post_submits_the_chosen_draft(
    api: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_confirm")
    client = Client(enforce_csrf_checks=True)
    url = f"/orders/{order.id}/drafts/1/submit/"

    response = client.get(f"{url}?token={token}", follow=True)

    html = response.content.decode()
    text = visible_text(html)
    assert "Submit draft 1 for editorial review?" in text
    assert "This cannot be undone." in text and "What happens next" in text
    assert "Yes, submit draft 1" in text and f'href="/orders/{order.id}/drafts/1/">Back</a>' in html
    assert snapshot(order)[0] == OrderStatus.QUALITY_CHECK

    # The form is CSRF-protected: a post without its token changes nothing.
    assert client.post(url).status_code == 403
    assert snapshot(order)[0] == OrderStatus.QUALITY_CHECK

    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert csrf is not None
    done = client.post(url, {"csrfmiddlewaretoken": csrf.group(1)})

    assert done.status_code == 302 and done["Location"] == f"/orders/{order.id}/"
    order.refresh_from_db()
    assert (order.status, order.current_version_id) == (OrderStatus.ADMIN_REVIEW, draft_version(order, 1).pk)
    assert "Sent to our editors" in client.get(done["Location"]).content.decode()
    # Once under review no draft is offered for submission again.
    again = visible_text(client.get(url).content.decode())
    assert "Yes, submit" not in again


def test_the_confirmation_post_keeps_to_the_submit_rate_limit(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any, settings: Any
) -> None:
    order, token = two_drafts(api, article, run_worker, fake_openai, "evt_rate")
    settings.RATE_LIMIT_SUBMIT = "0/minute"
    client.get(f"/orders/{order.id}/?token={token}")

    response = client.post(f"/orders/{order.id}/drafts/1/submit/", follow=True)

    assert "You have done that many times in a short while" in response.content.decode()
    assert snapshot(order)[0] == OrderStatus.QUALITY_CHECK


def test_the_migration_numbers_existing_drafts_per_order_by_when_they_were_stored(
    api: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    first_order, _ = two_drafts(api, article, run_worker, fake_openai, "evt_mig_a")
    fake_openai.script(FIRST)
    second_order, _ = make_order(article)
    paid(api, second_order, "evt_mig_b")
    run_worker()
    before, after = ("purchases", "0012_order_lookup"), ("purchases", "0013_order_draft_number")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    try:
        old_drafts = executor.loader.project_state([before]).apps.get_model("purchases", "OrderDraft")
        assert not hasattr(old_drafts(), "number")
        executor = MigrationExecutor(connection)
        executor.migrate([after])
        drafts = executor.loader.project_state([after]).apps.get_model("purchases", "OrderDraft")
        numbered = {
            (draft.order_id, draft.number, draft.created_at)
            for draft in drafts.objects.filter(order_id__in=[first_order.id, second_order.id])
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    def numbers(order: Order) -> list[int]:
        return [
            number for order_id, number, _ in sorted(numbered, key=lambda d: d[2]) if order_id == order.id
        ]

    assert numbers(first_order) == [1, 2]
    assert numbers(second_order) == [1]


def test_an_appended_sentence_is_shown_inside_its_whole_paragraph_with_only_the_sentence_marked(
    api: Any, client: Any, article: Any, run_worker: Any, fake_openai: Any
) -> None:
    sentence = (
        "Readers who want to sleep more soundly will find [[memory foam pillows]] a practical place to start."
    )
    fake_openai.script(json.dumps({"paragraph_index": 1, "mode": "append_sentence", "paragraph": sentence}))
    order, token = make_order(article)
    paid(api, order, "evt_sentence")
    run_worker()
    order.refresh_from_db()
    assert order.status == OrderStatus.QUALITY_CHECK, order.failure_reason
    published = split_paragraphs(ARTICLE_BODY)[1]

    html = client.get(f"/orders/{order.id}/drafts/1/?token={token}", follow=True).content.decode()
    order_page = client.get(f"/orders/{order.id}/").content.decode()

    (change,) = re.findall(r'<div class="change">(.*?)</div>', html, flags=re.S)
    assert "Added to this paragraph in this draft" in change
    assert "<del>" not in change and "Changed in this draft" not in change
    (added,) = re.findall(r'<ins class="added">(.*?)</ins>', change, flags=re.S)
    assert (
        visible_text(added)
        == "Readers who want to sleep more soundly will find memory foam pillows a practical place to start."
    )
    assert visible_text(change).endswith(f"{published} {visible_text(added)}")  # the paragraph, once
    assert "Added to this paragraph in this draft” is a published paragraph kept whole" in visible_text(html)
    # The order page highlights the customer's paragraph: the whole of it, published text and sentence.
    (yours,) = re.findall(r'<div class="yours"[^>]*>(.*?)</div>', order_page, flags=re.S)
    assert visible_text(yours) == f"{published} {visible_text(added)}"
    assert_clean(visible_text(html))
