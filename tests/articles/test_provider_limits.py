"""Provider limits on real Redis: calls in flight, requests and tokens per window, leases of dead workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import django_rq
import pytest

from articles.drafting.kinds import BACKLINK
from articles.openai_api import LLMUnavailable
from articles.provider_limits import ProviderBusy, ProviderLimits
from articles.writers import ModelWriter, get_writer
from tests.articles.test_writers import BRIEF, GOOD_PARAGRAPH

ROOT = Path(__file__).resolve().parents[2]


def limits(**kwargs: Any) -> ProviderLimits:
    return ProviderLimits(
        connection=django_rq.get_connection("backlink-integration"),
        **{"wait_seconds": 0.0, "prefix": "provider-limits:test:", **kwargs},
    )


def test_no_more_calls_in_flight_than_the_cap_and_a_returned_permit_frees_a_place() -> None:
    cap = limits(max_concurrent=2)

    with cap.call(tokens=1, lease_seconds=30), cap.call(tokens=1, lease_seconds=30):
        assert cap.in_flight() == 2
        with pytest.raises(ProviderBusy), cap.call(tokens=1, lease_seconds=30):
            pass
    with cap.call(tokens=1, lease_seconds=30):
        assert cap.in_flight() == 1


def test_a_call_over_the_cap_waits_a_bounded_time_for_a_place_then_raises_a_transient_error() -> None:
    cap = limits(max_concurrent=1, wait_seconds=0.5)

    with cap.call(tokens=1, lease_seconds=30):
        started = time.monotonic()
        with pytest.raises(LLMUnavailable) as caught, cap.call(tokens=1, lease_seconds=30):
            pass
        waited = time.monotonic() - started

    assert 0.5 <= waited < 1.5
    assert caught.value.retry_after is not None


def test_the_lease_of_a_killed_worker_expires_and_its_permit_comes_back() -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, redis\n"
            "from articles.provider_limits import ProviderLimits\n"
            "cap = ProviderLimits(connection=redis.Redis.from_url(sys.argv[1]), max_concurrent=2,"
            " prefix='provider-limits:test:')\n"
            "with cap.call(tokens=1, lease_seconds=2):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "blogorder.settings.test"},
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
    cap = limits(max_concurrent=2)
    with cap.call(tokens=1, lease_seconds=30):  # a live call, its lease longer than the dead one's
        assert cap.in_flight() == 2  # the dead worker never gave its permit back
        with pytest.raises(ProviderBusy), cap.call(tokens=1, lease_seconds=30):
            pass

        time.sleep(2.2)

        with cap.call(tokens=1, lease_seconds=30):
            assert cap.in_flight() == 2  # the live call and this one: the dead lease was dropped


def test_requests_per_window_refuse_the_call_after_the_nth_until_the_window_has_passed() -> None:
    rate = limits(requests_per_window=3, window_seconds=1)
    for _ in range(3):
        with rate.call(tokens=1, lease_seconds=30):
            pass

    with pytest.raises(ProviderBusy, match="requests"), rate.call(tokens=1, lease_seconds=30):
        pass

    time.sleep(2.1)  # the sliding window spans the current and the previous fixed window
    with rate.call(tokens=1, lease_seconds=30):
        pass


def test_the_window_slides_so_a_burst_at_a_window_s_end_is_not_doubled_at_the_next_one_s_start() -> None:
    rate = limits(requests_per_window=2, window_seconds=1)
    sleep_until_redis_second_plus(0.05)
    for _ in range(2):
        with rate.call(tokens=1, lease_seconds=30):
            pass

    sleep_until_redis_second_plus(0.2)  # the next fixed window: 80 % of the last one still counts

    with pytest.raises(ProviderBusy, match="requests"), rate.call(tokens=1, lease_seconds=30):
        pass


def sleep_until_redis_second_plus(offset: float) -> None:
    """Sleep until ``offset`` seconds past the next whole second of Redis's clock."""
    _, micros = django_rq.get_connection("backlink-integration").time()
    time.sleep(1 - micros / 1_000_000 + offset)


def test_tokens_per_window_count_the_estimate_before_and_the_reply_s_real_tokens_after() -> None:
    rate = limits(tokens_per_window=100)
    with rate.call(tokens=60, lease_seconds=30) as permit:
        with pytest.raises(ProviderBusy, match="tokens"), rate.call(tokens=60, lease_seconds=30):
            pass  # 60 estimated for the call in flight + 60 asked > 100
        permit.spent(10)
    with rate.call(tokens=60, lease_seconds=30):
        pass  # no reply (the call failed): its estimate stands, 10 + 60 counted

    with pytest.raises(ProviderBusy, match="tokens"), rate.call(tokens=31, lease_seconds=30):
        pass
    with rate.call(tokens=30, lease_seconds=30):
        pass  # 10 + 60 + 30 = 100


def test_off_or_zero_limits_nothing() -> None:
    free = limits(max_concurrent=0, requests_per_window=None, tokens_per_window=0)

    with free.call(tokens=10**9, lease_seconds=30), free.call(tokens=10**9, lease_seconds=30):
        assert free.in_flight() == 0


def test_the_model_writer_over_its_requests_per_minute_gives_the_worker_back_without_calling(
    fake_openai: Any, settings: Any
) -> None:
    settings.LLM_REQUESTS_PER_MINUTE = 2
    settings.LLM_LIMIT_WAIT_SECONDS = 0.3
    fake_openai.default = lambda request: GOOD_PARAGRAPH
    writer = get_writer()
    assert isinstance(writer, ModelWriter)
    writer.ask(BACKLINK, BRIEF, [])
    writer.ask(BACKLINK, BRIEF, [])

    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="requests"):
        writer.ask(BACKLINK, BRIEF, [])

    assert time.monotonic() - started < 0.6  # one short wait, not one per in-job retry
    assert len(fake_openai.requests) == 2


def test_the_model_writer_counts_the_reply_s_real_tokens_per_minute(fake_openai: Any, settings: Any) -> None:
    needed = ModelWriter(model="gpt-test").tokens_needed(BACKLINK, BRIEF, [])
    assert needed > 50
    settings.LLM_TOKENS_PER_MINUTE = needed + 50
    settings.LLM_LIMIT_WAIT_SECONDS = 0.0
    fake_openai.script({"content": GOOD_PARAGRAPH, "usage": {"prompt_tokens": 20, "completion_tokens": 10}})
    fake_openai.default = lambda request: GOOD_PARAGRAPH
    writer = get_writer()

    writer.ask(BACKLINK, BRIEF, [])  # `needed` estimated, then corrected to the 30 spent
    writer.ask(BACKLINK, BRIEF, [])  # 30 + needed fits; had the estimate stood, 2 * needed would not

    assert len(fake_openai.requests) == 2
