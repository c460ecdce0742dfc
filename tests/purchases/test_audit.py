"""The nightly paid-link audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from articles.content import extract_links, join_paragraphs, normalize_href, split_paragraphs
from articles.models import ArticleVersion
from articles.services import PaidLookingLinkRefused, article_edit_publish, version_create
from purchases.models import OrderStatus
from purchases.services.audit import paid_links_audit
from purchases.services.review import order_approve_and_publish
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def published_order(api: Any, article: Any, run_worker: Any) -> Any:
    order, token = make_order(article)
    signed_post(api, checkout_event(order, event_id="evt_audit"))
    run_worker()
    api.post(
        "/api/v1/purchase/submit-for-review",
        {"orderId": str(order.id)},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    editor = User.objects.create_superuser("auditor", "a@example.com", "pw")
    order_approve_and_publish(order_id=order.id, actor=editor)
    order.refresh_from_db()
    assert order.status == OrderStatus.PUBLISHED
    return order


def test_a_live_paid_link_passes_the_audit(api: Any, article: Any, run_worker: Any, mailoutbox: Any) -> None:
    published_order(api, article, run_worker)
    report = paid_links_audit()
    assert (report.checked, report.problems) == (1, [])
    assert not [m for m in mailoutbox if "need attention" in m.subject]


def test_a_paid_link_lost_from_the_published_text_alerts_staff(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order = published_order(api, article, run_worker)
    article.refresh_from_db()
    # A version written around the service layer (e.g. a raw SQL fix) that lost the link.
    broken = version_create(
        article=article,
        title=article.title,
        body_markdown="# Gone\n\nNothing here.\n",
        kind=ArticleVersion.Kind.EDIT,
    )
    type(article).objects.filter(pk=article.pk).update(published_version=broken)

    report = paid_links_audit()

    assert report.problems == [
        f"order {order.id}: 0 links to {order.target_url} in “{article.title}” (expected 1)"
    ]
    (alert,) = [m for m in mailoutbox if "need attention" in m.subject]
    assert str(order.id) in alert.body


def test_a_paid_link_present_twice_in_the_live_article_is_reported(
    api: Any, article: Any, run_worker: Any, mailoutbox: Any
) -> None:
    order = published_order(api, article, run_worker)
    article.refresh_from_db()
    live = split_paragraphs(article.published_version.body_markdown)
    (link_paragraph,) = [
        p for p in live if any(link.href == normalize_href(order.target_url) for link in extract_links(p))
    ]
    doubled = join_paragraphs([*live, link_paragraph])
    # An editor may not paste the link's paragraph again (the copy would look paid, and no order
    # owns it), so the copy is written around the service layer, as a raw SQL fix would.
    with pytest.raises(PaidLookingLinkRefused):
        article_edit_publish(
            article=article,
            title=article.title,
            body_markdown=doubled,
            actor=User.objects.get(username="auditor"),
        )
    copy = version_create(
        article=article, title=article.title, body_markdown=doubled, kind=ArticleVersion.Kind.EDIT
    )
    type(article).objects.filter(pk=article.pk).update(published_version=copy)

    report = paid_links_audit()

    assert report.problems == [
        f"order {order.id}: 2 links to {order.target_url} in “{article.title}” (expected 1)",
        f"“{article.title}”: the link [{order.anchor_text}]({normalize_href(order.target_url)}) carries "
        "rel=“sponsored” but no published order owns it (take a refunded order's link down from its order page)",
    ]
    (alert,) = [m for m in mailoutbox if "need attention" in m.subject]
    assert str(order.id) in alert.body
