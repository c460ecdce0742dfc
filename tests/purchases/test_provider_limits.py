"""Provider limits across workers: real worker processes share one cap on model calls in flight."""

from __future__ import annotations

from typing import Any

import pytest

from purchases.models import OrderStatus
from tests.purchases.test_faults import GOOD, paid, worker_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.postgres]


def test_four_workers_never_have_more_model_calls_in_flight_than_the_cap_so_no_429_and_every_order_gets_its_draft(
    api: Any, article: Any, fake_openai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    article.max_backlinks = 10
    article.save(update_fields=["max_backlinks"])
    fake_openai.call_seconds = 1.0  # a slow model, so the workers' calls would overlap
    too_many: list[int] = []

    def provider_serving_two_at_once(request: Any) -> Any:
        if fake_openai.in_flight > 2:
            too_many.append(fake_openai.in_flight)
            return {"status": 429, "headers": {"retry-after": "0"}}
        return GOOD

    fake_openai.default = provider_serving_two_at_once
    monkeypatch.setenv("LLM_MAX_CONCURRENT_CALLS", "2")
    monkeypatch.setenv("LLM_LIMIT_WAIT_SECONDS", "10")
    orders = [paid(api, article, f"evt_cap{i}") for i in range(8)]

    workers = [worker_process(fake_openai.url) for _ in range(4)]
    try:
        for worker in workers:
            assert worker.wait(timeout=90) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()

    assert fake_openai.max_in_flight == 2  # the cap was reached, and never passed
    assert too_many == []  # so the provider never answered 429
    assert len(fake_openai.requests) == 8
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.QUALITY_CHECK
