"""Start-up under real settings modules, in a subprocess: deploy check, refused secrets, demo logins."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from blogorder.settings.env import BASE_DIR


def deploy_env(**overrides: str) -> dict[str, str]:
    """The environment a production deploy has: a long random secret key, Stripe keys, hosts."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "blogorder.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "STRIPE_SECRET_KEY": "sk_live_not_a_real_key",
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
        "ALLOWED_HOSTS": "blog.example.com",
        "SITE_URL": "https://blog.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "REDIS_URL": django_settings.REDIS_URL,
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value != "<unset>"}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deploy_check_with_no_warning() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=deploy_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "warning"),
    [
        ({"SECURE_SSL_REDIRECT": "0"}, "security.W008"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_COOKIES": "0"}, "security.W012"),
    ],
)
def test_the_deploy_check_fails_when_a_deploy_turns_a_protection_off(
    override: dict[str, str], warning: str
) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=deploy_env(**override))

    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


@pytest.mark.parametrize("settings_module", ["blogorder.settings.production", "blogorder.settings.local"])
@pytest.mark.parametrize("webhook_secret", ["<unset>", "whsec_local_test_mode_only"])
def test_a_real_stripe_key_with_the_public_test_webhook_secret_refuses_to_start(
    settings_module: str, webhook_secret: str
) -> None:
    env = deploy_env(DJANGO_SETTINGS_MODULE=settings_module, STRIPE_WEBHOOK_SECRET=webhook_secret)

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET is unset or the public local test-mode secret" in result.stderr


def test_local_test_mode_still_starts_with_its_public_secret() -> None:
    env = deploy_env(
        DJANGO_SETTINGS_MODULE="blogorder.settings.local",
        STRIPE_SECRET_KEY="<unset>",
        STRIPE_WEBHOOK_SECRET="<unset>",
    )

    result = manage("check", env=env)

    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_seed_demo_refuses_admin_admin_under_production_settings_and_writes_nothing() -> None:
    from django.contrib.auth.models import User

    from articles.models import Article

    env = deploy_env(DATABASE_URL=_test_database_url())

    result = manage("seed_demo", env=env)

    assert result.returncode != 0
    assert "Refusing to create the admin user with the default password" in result.stderr
    assert not User.objects.exists()
    assert not Article.objects.exists()


def _test_database_url() -> str:
    """DATABASE_URL pointing at the database this test session created."""
    params: Any = connection.settings_dict
    user = params["USER"] or ""
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or "5432"
    if connection.vendor != "postgresql":
        pytest.skip("the subprocess needs the same PostgreSQL database")
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_postgresql_statements_are_prepared_on_a_kept_connection_after_two_runs() -> None:
    """``DATABASE_PREPARE_THRESHOLD`` (2): a statement run twice is prepared by the server, so its
    third run is neither parsed nor planned again (server-side binding: parameters are not in the text)."""
    from purchases.models import Order

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    for _ in range(3):
        list(Order.objects.filter(customer_email="prepared@example.com"))

    matching = [text for text in prepared() if '"customer_email" = $1' in text]
    assert len(matching) == 1, prepared()


def test_server_side_binding_can_be_turned_off_for_a_pooler_in_transaction_mode() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('server_side_binding'))"
    )
    for value, expected in (("1", "True"), ("0", "None")):
        env = deploy_env(DATABASE_URL="postgres://127.0.0.1:5432/x", DATABASE_SERVER_SIDE_BINDING=value)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        assert done.stdout.strip() == expected


def test_each_test_process_takes_its_own_redis_database_counted_down_from_redis_urls() -> None:
    """Under pytest-xdist one process's FLUSHDB must not empty another's queues (make test, README)."""
    from blogorder.settings.test import redis_url_for_test_process as moved

    assert moved("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert moved("redis://127.0.0.1:6379/15", "gw1") == "redis://127.0.0.1:6379/14"
    assert moved("redis://:secret@127.0.0.1:6391/0", "gw1") == "redis://:secret@127.0.0.1:6391/1"
    assert moved("redis://127.0.0.1:6379", "gw2") == "redis://127.0.0.1:6379/2"
    assert moved("redis://127.0.0.1:6379/15", "") == "redis://127.0.0.1:6379/15"  # one process: as given
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker:  # this very process: its settings and what it hands the processes it starts agree
        assert os.environ["REDIS_URL"] == django_settings.REDIS_URL
        assert os.environ["TEST_REDIS_URL_MOVED_FOR"] == worker
