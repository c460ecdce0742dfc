"""The article history in admin (purchases/article_admin.py) and unpublishing an article with its
orders told (purchases/services/article_availability.py): through the admin over HTTP, with a real
worker, the fake Stripe at the boundary and the emails as the mail backend records them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User

from articles.models import Article, ArticleEvent, ArticleVersion
from purchases.models import EmailKind, EmailRecord, Order, OrderStatus, OrderTransition
from purchases.services.article_availability import article_withdraw
from purchases.services.audit import paid_links_audit
from tests.conftest import signed_post
from tests.factories import make_order
from tests.purchases.test_paid_links import (
    edit,
    links_of,
    live_body,
    published,
    refunded_in_admin,
    without_link_paragraph,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


HOSTILE = '<script>alert("x")</script> <img src=x onerror=alert(1)> [click](javascript:alert(1))'


def versions_url(article: Article) -> str:
    return f"/admin/articles/article/{article.pk}/versions/"


def restore(client: Any, article: Article, number: int, reason: str = "Back to the good text.") -> Any:
    return client.post(f"/admin/articles/article/{article.pk}/versions/{number}/restore/", {"reason": reason})


def in_review(api: Any, article: Article, fake_stripe: Any, run_worker: Any) -> Order:
    """A paid order whose draft waits for the editors."""
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id))
    run_worker()
    submitted = api.post(
        "/api/v1/purchase/submit-for-review",
        {"orderId": str(order.id)},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert submitted.status_code == 200, submitted.content
    order.refresh_from_db()
    return order


def order_page(client: Any, order: Order) -> str:
    from purchases.tokens import make_order_token

    token = make_order_token(order_id=order.id, token_salt=order.token_salt)
    return client.get(f"/orders/{order.id}/?token={token}", follow=True).content.decode()


# --- history and compare ----------------------------------------------------------------------------


def test_the_history_lists_every_version_with_who_made_it_and_why(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    body = live_body(article)
    edit(client, article, body.replace("cheapest", "simplest"))
    ArticleVersion.objects.filter(article=article).order_by("-number").update(reason="Wording.")
    restore(client, article, 2, reason="Keep the original wording.")

    page = client.get(versions_url(article)).content.decode()

    assert "Original (editorial)" in page
    # The order's draft: kind, the order (linked to its admin page) and its customer, and why.
    assert "Customer backlink integration" in page and f"/admin/purchases/order/{order.id}/change/" in page
    assert order.customer_email in page and "First draft, draft 1 of the order" in page
    assert "Editorial edit" in page and "Wording." in page and ">editor<" in page
    assert "Restore of v2" in page and "Keep the original wording." in page
    assert 'name="a" value="3" aria-label="Compare v3 as A" checked' in page  # the picker: previous vs live
    assert 'name="b" value="4" aria-label="Compare v4 as B" checked' in page


def test_any_two_versions_compare_side_by_side_with_hostile_text_escaped(
    client: Any, article: Article, editor: User
) -> None:
    client.force_login(editor)
    body = live_body(article)
    edit(client, article, body.replace("Weekends count too.", f"Weekends count too. {HOSTILE}"))
    article.title = "<b>Bold</b> title"
    article.save()
    edit(client, article, body + "\nA last paragraph.\n")

    one_three = client.get(f"/admin/articles/article/{article.pk}/compare/?a=1&b=3")
    three_one = client.get(f"/admin/articles/article/{article.pk}/compare/?a=3&b=1").content.decode()
    two_one = client.get(f"/admin/articles/article/{article.pk}/compare/?a=2&b=1").content.decode()

    page = one_three.content.decode()
    assert one_three.status_code == 200
    assert "v1 (Original (editorial))" in page and "v3 (Editorial edit)" in page
    assert "A last paragraph." in page and "&lt;b&gt;Bold&lt;/b&gt; title" in page
    assert "<b>Bold</b>" not in page
    assert "A last paragraph." in three_one and "&lt;b&gt;Bold&lt;/b&gt; title" in three_one
    assert "<b>Bold</b>" not in three_one
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;' in two_one
    for raw in ("<script>alert", "<img", 'href="javascript:'):
        assert raw not in two_one


def test_a_compare_of_versions_that_do_not_exist_is_a_400_naming_them(
    client: Any, article: Article, editor: User
) -> None:
    client.force_login(editor)

    response = client.get(f"/admin/articles/article/{article.pk}/compare/?a=1&b=x%3Cscript%3E")

    assert response.status_code == 400
    page = response.content.decode()
    assert "Version B: pick one of this article&#x27;s version numbers (got “x&lt;script&gt;”)." in page


# --- restore ----------------------------------------------------------------------------------------


def test_restoring_a_version_without_a_live_paid_link_is_refused_naming_the_link(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    body = live_body(article)

    confirm = client.get(f"/admin/articles/article/{article.pk}/versions/1/restore/").content.decode()
    response = restore(client, article, 1)

    for page in (confirm, response.content.decode()):
        assert "This version drops paid links that are live now" in page
        assert f"“{order.anchor_text}” → {order.target_url}" in page
    assert "Changes against the published version (v2 → v1)" in confirm
    assert response.status_code == 409
    assert ArticleVersion.objects.filter(article=article).count() == 2
    assert live_body(article) == body


def test_restoring_a_version_that_keeps_every_paid_link_publishes_a_new_version(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    with_link = live_body(article)
    edit(client, article, with_link.replace("cheapest", "simplest"))

    response = restore(client, article, 2)

    assert response.status_code == 302
    article.refresh_from_db()
    restored = article.published_version
    assert restored is not None
    assert (restored.number, restored.kind, restored.restored_from.number, restored.created_by) == (  # type: ignore[union-attr]
        4,
        ArticleVersion.Kind.RESTORE,
        2,
        editor,
    )
    assert restored.body_markdown == with_link and len(links_of(restored.body_markdown, order)) == 1


def test_after_a_recorded_take_down_an_older_version_can_be_restored(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    assert restore(client, article, 1).status_code == 409  # its link is live and paid
    refunded_in_admin(client, order, editor)
    assert (
        client.post(f"/admin/purchases/order/{order.id}/take-down-link/", {"reason": "Refunded."}).status_code
        == 302
    )

    refused_again = restore(client, article, 2)
    response = restore(client, article, 1)

    # v2 still holds the refunded order's link with its rel: it would look paid again.
    assert refused_again.status_code == 400 and "Remove {rel=…} from" in refused_again.content.decode()
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.published_version is not None and article.published_version.restored_from.number == 1  # type: ignore[union-attr]
    assert links_of(live_body(article), order) == []


def test_restore_and_unpublish_need_the_publish_permission(
    client: Any, article: Article, editor: User
) -> None:
    client.force_login(editor)
    edit(client, article, live_body(article).replace("cheapest", "simplest"))
    junior = User.objects.create_user("junior", "j@example.com", "pw", is_staff=True)
    junior.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(junior)

    history = client.get(versions_url(article)).content.decode()
    compare = client.get(f"/admin/articles/article/{article.pk}/compare/?a=1&b=2")
    answers = [
        client.get(f"/admin/articles/article/{article.pk}/versions/1/restore/").status_code,
        restore(client, article, 1).status_code,
        client.post(f"/admin/articles/article/{article.pk}/unpublish/", {"reason": "No."}).status_code,
    ]
    client.logout()
    anonymous = client.get(versions_url(article))

    assert "v2" in history and "Restore this version" not in history and "Unpublish…" not in history
    assert compare.status_code == 200
    assert answers == [403, 403, 403]
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    article.refresh_from_db()
    assert article.published_version is not None and article.published_version.number == 2


# --- unpublish and publish back -----------------------------------------------------------------------


def test_unpublishing_takes_the_article_off_the_site_and_tells_its_orders_once(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User, mailoutbox: Any
) -> None:
    live = published(api, client, article, fake_stripe, run_worker, editor)
    waiting = in_review(api, article, fake_stripe, run_worker)
    unpaid, _ = make_order(article)
    client.force_login(editor)
    confirm = client.get(f"/admin/articles/article/{article.pk}/unpublish/").content.decode()
    assert "Orders told (2)" in confirm and "timeline and email (live link)" in confirm
    assert client.post(f"/admin/articles/article/{article.pk}/unpublish/", {"reason": " "}).status_code == 400
    emails = len(mailoutbox)

    response = client.post(
        f"/admin/articles/article/{article.pk}/unpublish/", {"reason": "A legal complaint."}
    )

    assert response.status_code == 302
    # Readers: gone (410), not in the catalog, no backlink for sale.
    reader = client.get(f"/articles/{article.slug}/")
    assert reader.status_code == 410 and "is no longer available" in reader.content.decode()
    assert article.slug not in client.get("/").content.decode()
    assert all(a["id"] != article.pk for a in api.get("/api/v1/articles/").json())
    assert api.get(f"/api/v1/articles/{article.pk}/").status_code == 404
    checkout = api.post(
        "/api/v1/purchase/checkout",
        {
            "articleId": article.pk,
            "targetUrl": "https://late.example.com/",
            "anchorText": "late anchor",
            "customerEmail": "late@example.com",
        },
        format="json",
    )
    assert checkout.status_code == 409
    assert checkout.json()["error"]["code"] == "article_unavailable"
    assert f"“{article.title}” is not published" in checkout.json()["error"]["message"]
    # The paid orders' timelines (admin and order page); the live link's customer emailed once.
    for order in (live, waiting):
        entry = OrderTransition.objects.get(order=order, source=OrderTransition.ARTICLE_SOURCE)
        assert (entry.from_status, entry.to_status, entry.actor) == (order.status, order.status, editor)
        assert "was taken off the site" in entry.reason and "A legal complaint." in entry.reason
        assert (
            "A legal complaint." in client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
        )
        assert "A legal complaint." in order_page(client, order)
    assert not OrderTransition.objects.filter(order=unpaid, source=OrderTransition.ARTICLE_SOURCE).exists()
    sent = mailoutbox[emails:]
    assert [m.to for m in sent] == [[live.customer_email]]
    assert "offline" in sent[0].subject and "A legal complaint." in sent[0].body
    assert "A legal complaint." in sent[0].alternatives[0][0]
    assert EmailRecord.objects.filter(kind=EmailKind.ARTICLE_UNPUBLISHED).count() == 1
    assert "Offline for now" in order_page(client, live)
    # Orders in progress wait: approving is refused until the article is back.
    refused = client.post(f"/admin/purchases/order/{waiting.id}/publish/", follow=True).content.decode()
    assert "is unpublished for now; this can be done once it is published back." in refused
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.ADMIN_REVIEW
    assert paid_links_audit(notify=False).problems == []  # a recorded unpublish is not a lost link
    # A second unpublish is refused and tells no one again.
    again = client.post(f"/admin/articles/article/{article.pk}/unpublish/", {"reason": "Again."})
    assert again.status_code == 409 and len(mailoutbox) == emails + 1


def test_publishing_back_restores_service_with_timeline_entries_and_one_email(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User, mailoutbox: Any
) -> None:
    live = published(api, client, article, fake_stripe, run_worker, editor)
    waiting = in_review(api, article, fake_stripe, run_worker)
    article_withdraw(article_id=article.pk, actor=editor, reason="Checking a claim.")
    emails = len(mailoutbox)

    response = client.post(
        f"/admin/articles/article/{article.pk}/publish-back/", {"reason": "Claim checked."}
    )
    twice = client.post(f"/admin/articles/article/{article.pk}/publish-back/", {"reason": "Twice."})

    assert response.status_code == 302 and twice.status_code == 409
    assert client.get(f"/articles/{article.slug}/").status_code == 200
    assert any(a["id"] == article.pk for a in api.get("/api/v1/articles/").json())
    assert links_of(live_body(article), live) != []
    sent = mailoutbox[emails:]
    assert [m.to for m in sent] == [[live.customer_email]] and "live again" in sent[0].subject
    assert EmailRecord.objects.filter(kind=EmailKind.ARTICLE_REPUBLISHED).count() == 1
    for order in (live, waiting):
        reasons = list(
            OrderTransition.objects.filter(order=order, source=OrderTransition.ARTICLE_SOURCE).values_list(
                "reason", flat=True
            )
        )
        assert len(reasons) == 2 and "Claim checked." in reasons[1] and "published again" in reasons[1]
    assert [e.kind for e in ArticleEvent.objects.filter(article=article)] == ["unpublished", "republished"]
    history = client.get(versions_url(article)).content.decode()
    assert "Checking a claim." in history and "Claim checked." in history
    # The waiting order carries on: it can be approved now.
    assert client.post(f"/admin/purchases/order/{waiting.id}/publish/").status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.PUBLISHED
    assert make_order(article)[0].checkout_url


def test_an_unpublished_article_cannot_be_edited_nor_its_edit_drop_a_link_later(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    body = live_body(article)
    article_withdraw(article_id=article.pk, actor=editor, reason="Paused.")
    versions = ArticleVersion.objects.filter(article=article).count()

    response = edit(client, article, without_link_paragraph(body, order))

    assert response.status_code == 302  # the text field is disabled: nothing is published
    article.refresh_from_db()
    assert article.published_version is None and article.unpublished_version is not None
    assert ArticleVersion.objects.filter(article=article).count() == versions
