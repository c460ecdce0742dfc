"""Fault-injection 7: random customer actions, webhooks, lost jobs and staff actions keep the invariants.

Hypothesis drives a state machine over the real system (PostgreSQL, Redis, a real RQ burst
worker, the offline writer). After every step: one published version per article, every
published customer's link live exactly once, no email sent twice. At the end of each run, after
the reconciler and the worker have settled: no paid order left behind in PROCESSING.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import django_rq
import pytest
from django.contrib.auth.models import User
from django.core import mail
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient
from rq import SimpleWorker

from articles.content import extract_links, normalize_href
from articles.models import Article, ArticleVersion
from purchases.errors import ApplicationError
from purchases.models import EmailRecord, Order, OrderStatus, StripeEvent
from purchases.services.review import order_approve_and_publish, order_reject
from purchases.services.runs import orders_reconcile
from tests.conftest import checkout_event, signed_post
from tests.factories import make_order, make_published_article

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]

QUEUES = ("article-generation", "backlink-integration")
STATUSES_SEEN: set[str] = set()


def work() -> None:
    queues = [django_rq.get_queue(name) for name in QUEUES]
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True, with_scheduler=True)


def reset_world() -> None:
    Article.objects.update(published_version=None)
    Order.objects.update(current_version=None)
    ArticleVersion.objects.update(base_version=None)
    ArticleVersion.objects.all().delete()
    StripeEvent.objects.all().delete()
    Order.objects.all().delete()
    Article.objects.all().delete()
    User.objects.all().delete()
    django_rq.get_connection("backlink-integration").flushdb()
    mail.outbox = []


class OrderWorld(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        reset_world()
        self.api = APIClient()
        self.articles = [make_published_article(max_backlinks=4), make_published_article(max_backlinks=4)]
        self.editor = User.objects.create_superuser("editor", "editor@example.com", "pw")
        self.orders: list[tuple[Order, str]] = []
        self.events = 0

    def _order(self, index: int) -> tuple[Order, str]:
        order, token = self.orders[index % len(self.orders)]
        order.refresh_from_db()
        return order, token

    def _post(self, url: str, order: Order, token: str) -> None:
        response = self.api.post(
            url, {"orderId": str(order.id)}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code in (200, 202, 409), response.content

    @rule(article=st.integers(0, 1))
    def checkout(self, article: int) -> None:
        with contextlib.suppress(ApplicationError):  # sold out
            self.orders.append(make_order(self.articles[article]))

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 20), times=st.integers(1, 3))
    def stripe_pays(self, index: int, times: int) -> None:
        order, _ = self._order(index)
        self._pay(order, times)

    @rule(article=st.integers(0, 1), times=st.integers(1, 3))
    def customer_buys_and_stripe_pays(self, article: int, times: int) -> None:
        try:
            order, token = make_order(self.articles[article])
        except ApplicationError:
            return
        self.orders.append((order, token))
        self._pay(order, times)

    def _pay(self, order: Order, times: int) -> None:
        self.events += 1
        payload = checkout_event(order, event_id=f"evt_{self.events}")
        for _ in range(times):
            assert signed_post(self.api, payload).status_code == 200

    @rule()
    def worker_runs(self) -> None:
        work()

    @rule()
    def redis_loses_everything(self) -> None:
        django_rq.get_connection("backlink-integration").flushdb()

    @rule()
    def reconciler_runs(self) -> None:
        orders_reconcile(grace=timedelta(0), heartbeat_grace=timedelta(seconds=1))

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 20))
    def customer_regenerates(self, index: int) -> None:
        order, token = self._order(index)
        self._post("/api/v1/purchase/regenerate-backlink", order, token)

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 20))
    def customer_submits(self, index: int) -> None:
        order, token = self._order(index)
        self._post("/api/v1/purchase/submit-for-review", order, token)

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 20))
    def editor_publishes(self, index: int) -> None:
        order, _ = self._order(index)
        with contextlib.suppress(ApplicationError):
            order_approve_and_publish(order_id=order.id, actor=self.editor)

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 20))
    def editor_rejects(self, index: int) -> None:
        order, _ = self._order(index)
        with contextlib.suppress(ApplicationError):
            order_reject(order_id=order.id, actor=self.editor, reason="Please try another paragraph.")

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 20))
    def an_order_takes_its_next_natural_step(self, index: int) -> None:
        order, token = self._order(index)
        if order.status == OrderStatus.PENDING_PAYMENT:
            self._pay(order, 1)
        elif order.status == OrderStatus.PROCESSING:
            work()
        elif order.status == OrderStatus.QUALITY_CHECK:
            self._post("/api/v1/purchase/submit-for-review", order, token)
        elif order.status == OrderStatus.ADMIN_REVIEW:
            order_approve_and_publish(order_id=order.id, actor=self.editor)

    @invariant()
    def every_published_link_is_live_exactly_once(self) -> None:
        for article in Article.objects.select_related("published_version"):
            assert article.published_version is not None
            links = extract_links(article.published_version.body_markdown)
            for order in Order.objects.filter(article=article, status=OrderStatus.PUBLISHED):
                assert sum(1 for link in links if link.href == normalize_href(order.target_url)) == 1

    @invariant()
    def no_email_is_sent_twice(self) -> None:
        sent = EmailRecord.objects.filter(sent_at__isnull=False)
        assert sent.count() == len([m for m in mail.outbox if "editors@localhost" not in m.to])

    def teardown(self) -> None:
        for _ in range(3):
            orders_reconcile(grace=timedelta(0), heartbeat_grace=timedelta(seconds=1))
            work()
        STATUSES_SEEN.update(Order.objects.values_list("status", flat=True))
        stuck = Order.objects.filter(status=OrderStatus.PROCESSING)
        assert not stuck.exists(), f"paid but forgotten: {list(stuck.values_list('id', flat=True))}"


def test_random_histories_never_break_the_invariants() -> None:
    STATUSES_SEEN.clear()
    run_state_machine_as_test(
        OrderWorld,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            # Fixed histories: CI sees the same 25 examples every run, so a failure is reproducible.
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # The histories reached the interesting states, so the invariants were really exercised.
    assert {OrderStatus.QUALITY_CHECK, OrderStatus.PUBLISHED} <= STATUSES_SEEN
