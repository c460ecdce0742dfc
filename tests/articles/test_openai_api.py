"""The model client: one per process and settings, not one (and a new TLS context) per call."""

from __future__ import annotations

from typing import Any

from articles import openai_api


def test_the_client_is_built_once_and_rebuilt_when_its_settings_change(settings: Any) -> None:
    settings.OPENAI_API_KEY = "sk-test-fake"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    first = openai_api._client()
    assert openai_api._client() is first  # no new client, TLS context and pool per call

    settings.OPENAI_BASE_URL = "http://127.0.0.1:10/v1"
    other = openai_api._client()
    assert other is not first and str(other.base_url).startswith("http://127.0.0.1:10/")


def test_a_worker_builds_the_client_before_it_forks(settings: Any) -> None:
    settings.OPENAI_API_KEY = "sk-test-fake"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:11/v1"
    openai_api._client_for.cache_clear()
    openai_api.client_preload()  # in WORKER_PRELOAD_CALLS, run by worker_preload
    assert openai_api._client_for.cache_info().currsize == 1
    assert "articles.openai_api.client_preload" in settings.WORKER_PRELOAD_CALLS
