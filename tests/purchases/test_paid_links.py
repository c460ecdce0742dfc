"""Paid links come from the orders' record: the article guard keeps exactly the links of live paid
orders, editors cannot make a link look paid, and staff take down a refunded order's link with a
reason. Through the admin over HTTP, with a real worker and the fake Stripe at the boundary."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User

from articles.content import extract_links, normalize_href
from articles.models import Article, ArticleVersion
from articles.services import PaidLink, protected_links
from purchases.actions import TAKE_DOWN_LINK
from purchases.errors import ActionNotAllowed, ApplicationError
from purchases.models import Order, OrderStatus, OrderTransition
from purchases.services.audit import paid_links_audit
from purchases.services.paid_links import order_link_take_down
from tests.conftest import signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def editor(db: Any) -> User:
    return User.objects.create_superuser("editor", "editor@example.com", "pw")


def published(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> Order:
    """An order paid at the fake Stripe, drafted by the worker, submitted and approved in the admin."""
    order, token = make_order(article)
    fake_stripe.mark_paid(order.stripe_checkout_session_id)
    assert (
        signed_post(api, fake_stripe.checkout_session_event(order.stripe_checkout_session_id)).status_code
        == 200
    )
    run_worker()
    submitted = api.post(
        "/api/v1/purchase/submit-for-review",
        {"orderId": str(order.id)},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert submitted.status_code == 200, submitted.content
    client.force_login(editor)
    assert client.post(f"/admin/purchases/order/{order.id}/publish/").status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PUBLISHED
    return order


def refunded_in_admin(client: Any, order: Order, editor: User) -> None:
    client.force_login(editor)
    response = client.post(f"/admin/purchases/order/{order.id}/refund/", {"reason": "The customer asked."})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def live_body(article: Article) -> str:
    article.refresh_from_db()
    assert article.published_version is not None
    return article.published_version.body_markdown


def links_of(body: str, order: Order) -> list[Any]:
    href = normalize_href(order.target_url)
    return [link for link in extract_links(body) if link.href == href]


def edit(client: Any, article: Article, body: str) -> Any:
    article.refresh_from_db()
    return client.post(
        f"/admin/articles/article/{article.pk}/change/",
        {
            "title": article.title,
            "slug": article.slug,
            "language": article.language,
            "backlink_price": str(article.backlink_price),
            "currency": article.currency,
            "max_backlinks": article.max_backlinks,
            "body_markdown": body,
            "versions-TOTAL_FORMS": 0,
            "versions-INITIAL_FORMS": 0,
        },
    )


def without_link_paragraph(body: str, order: Order) -> str:
    return "\n\n".join(p for p in body.split("\n\n") if not links_of(p, order)) + "\n"


def test_the_guard_protects_exactly_the_links_of_live_paid_orders(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    make_order(article)  # paid for by no one yet: protects nothing

    assert protected_links(article_id=article.pk) == [
        PaidLink(href=normalize_href(order.target_url), text=order.anchor_text, rel="sponsored")
    ]
    refunded_in_admin(client, order, editor)
    assert protected_links(article_id=article.pk) == []


def test_the_guard_still_refuses_an_edit_that_drops_a_live_paid_orders_link(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    body = live_body(article)
    versions = ArticleVersion.objects.filter(article=article).count()

    dropped = edit(client, article, without_link_paragraph(body, order))
    unmarked = edit(client, article, body.replace('{rel="sponsored"}', ""))

    for response in (dropped, unmarked):
        assert response.status_code == 200
        assert "drops paid links that are live now" in response.content.decode()
    assert ArticleVersion.objects.filter(article=article).count() == versions
    assert live_body(article) == body


def test_an_editor_may_edit_around_a_live_paid_link_which_keeps_its_rel(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    body = live_body(article)

    response = edit(client, article, body.replace("cheapest", "simplest"))

    assert response.status_code == 302
    new_body = live_body(article)
    assert "simplest" in new_body
    assert [(link.text, link.rel) for link in links_of(new_body, order)] == [(order.anchor_text, "sponsored")]


def test_an_editor_cannot_copy_a_live_paid_link_to_make_a_second_one_look_paid(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    body = live_body(article)
    (paragraph,) = [p for p in body.split("\n\n") if links_of(p, order)]

    response = edit(client, article, body + "\n" + paragraph + "\n")

    assert response.status_code == 200
    assert "Remove {rel=…} from" in response.content.decode()
    assert live_body(article) == body


def test_after_a_full_refund_the_guard_no_longer_keeps_the_link(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    refunded_in_admin(client, order, editor)
    body = live_body(article)
    # The refunded link still looks paid, so an edit that keeps it as it is, is refused...
    kept = edit(client, article, body.replace("cheapest", "simplest"))
    assert kept.status_code == 200 and "Remove {rel=…} from" in kept.content.decode()

    # ...and the editor may remove it.
    response = edit(client, article, without_link_paragraph(body, order))

    assert response.status_code == 302
    assert links_of(live_body(article), order) == []


def test_the_link_of_a_refunded_order_can_be_taken_down_with_a_reason(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User, mailoutbox: Any
) -> None:
    kept = published(api, client, article, fake_stripe, run_worker, editor)
    order = published(api, client, article, fake_stripe, run_worker, editor)
    refunded_in_admin(client, order, editor)
    review = f"/admin/purchases/order/{order.id}/change/"
    url = f"/admin/purchases/order/{order.id}/take-down-link/"
    assert "Take the link down…" in client.get(review).content.decode()
    assert paid_links_audit(notify=False).problems != []  # the refunded link still looks paid
    emails = len(mailoutbox)

    no_reason = client.post(url, {"reason": "  "})
    assert no_reason.status_code == 200 and "This field is required." in no_reason.content.decode()
    assert len(links_of(live_body(article), order)) == 1

    before = live_body(article)
    response = client.post(url, {"reason": "Refunded: the customer's shop closed."})

    assert response.status_code == 302
    article.refresh_from_db()
    version = article.published_version
    assert version is not None
    assert links_of(version.body_markdown, order) == []
    # Only the link goes: its anchor stays as plain text, every other byte is as it was.
    assert version.body_markdown == before.replace(
        f'[{order.anchor_text}](<{order.target_url}>){{rel="sponsored"}}', order.anchor_text
    )
    assert len(links_of(version.body_markdown, kept)) == 1  # every live paid link stays
    assert (version.kind, version.published_by) == (ArticleVersion.Kind.EDIT, editor)
    assert version.backlink_metadata == {
        "taken_down_order_id": str(order.id),
        "reason": "Refunded: the customer's shop closed.",
    }
    record = OrderTransition.objects.filter(order=order).last()
    assert record is not None
    assert (record.from_status, record.to_status, record.actor, record.source) == (
        OrderStatus.REFUNDED,
        OrderStatus.REFUNDED,
        editor,
        "staff",
    )
    assert "Refunded: the customer's shop closed." in record.reason
    page = client.get(review).content.decode()
    assert "link taken down from" in page and "Take the link down…" not in page
    assert order.target_url not in client.get(f"/articles/{article.slug}/").content.decode()
    assert paid_links_audit(notify=False).problems == []
    assert len(mailoutbox) == emails  # the customer was told of the refund already
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_the_order_list_takes_links_down_in_bulk_after_asking_why(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    refunded_in_admin(client, order, editor)
    chosen = {"action": "take_down_link", "_selected_action": [str(order.id)]}

    asked = client.post("/admin/purchases/order/", chosen).content.decode()
    done = client.post(
        "/admin/purchases/order/", {**chosen, "apply": "1", "reason": "Refunded."}, follow=True
    )

    assert "Why the link goes" in asked and "Reason sent to the customer" not in asked
    assert "link taken down; the article is now version" in done.content.decode()
    assert links_of(live_body(article), order) == []


def test_the_link_of_a_live_paid_order_cannot_be_taken_down(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    body = live_body(article)

    response = client.post(
        f"/admin/purchases/order/{order.id}/take-down-link/", {"reason": "Because."}, follow=True
    )
    with pytest.raises(ActionNotAllowed) as refused:
        order_link_take_down(order_id=order.id, actor=editor, reason="Because.")

    assert (
        "Only the link of a refunded or disputed order can be taken down (now PUBLISHED)."
        in response.content.decode()
    )
    assert refused.value.status_code == 409
    assert live_body(article) == body


def test_taking_a_link_down_needs_the_publish_permission(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    refunded_in_admin(client, order, editor)
    body = live_body(article)
    clerk = User.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="purchases"),
        *Permission.objects.filter(content_type__app_label="articles").exclude(codename="publish_article"),
    )
    client.force_login(clerk)

    page = client.get(f"/admin/purchases/order/{order.id}/change/").content.decode()
    response = client.post(
        f"/admin/purchases/order/{order.id}/take-down-link/", {"reason": "Refunded."}, follow=True
    )

    assert "Take the link down…" not in page and "needs the “Can publish articles” permission" in page
    assert "You do not have permission to take links down" in response.content.decode()
    assert live_body(article) == body


def test_the_take_down_service_refuses_a_blank_reason_and_changes_nothing(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    refunded_in_admin(client, order, editor)
    body = live_body(article)

    with pytest.raises(ApplicationError) as refused:
        order_link_take_down(order_id=order.id, actor=editor, reason=" \n ")

    assert refused.value.fields == {"reason": ["This field is required."]}
    assert live_body(article) == body


def test_a_link_no_longer_live_cannot_be_taken_down(
    api: Any, client: Any, article: Article, fake_stripe: Any, run_worker: Any, editor: User
) -> None:
    order = published(api, client, article, fake_stripe, run_worker, editor)
    refunded_in_admin(client, order, editor)
    order_link_take_down(order_id=order.id, actor=editor, reason="Refunded.")

    with pytest.raises(ActionNotAllowed, match="not in the published article"):
        order_link_take_down(order_id=order.id, actor=editor, reason="Twice.")


@pytest.mark.parametrize("status", sorted(set(OrderStatus) - {OrderStatus.REFUNDED}))
def test_taking_a_link_down_is_refused_in_every_status_but_refunded(status: str) -> None:
    order = Order(status=status, article_id=1)
    with pytest.raises(ActionNotAllowed, match=rf"\(now {status}\)"):
        TAKE_DOWN_LINK.check_order(order)
