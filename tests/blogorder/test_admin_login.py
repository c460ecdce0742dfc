"""Admin sign-in: password guessing is cut off (django-axes, on the Redis cache), weak passwords refused."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a long unguessable pass"


@pytest.fixture
def editor() -> User:
    return User.objects.create_user("editor", password=PASSWORD, is_staff=True)


def sign_in(client: Client, password: str, *, address: str = "203.0.113.7", **extra: Any) -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "editor", "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


def test_guessing_an_admin_password_is_locked_out_after_five_failures_even_with_the_right_one(
    editor: User, settings: Any
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong guess").status_code == 200  # the form again, with its error

    locked = sign_in(client, "wrong guess")
    right_password = sign_in(client, PASSWORD)

    for response in (locked, right_password):
        assert response.status_code == 429
        assert response["Retry-After"] == str(15 * 60)
        assert "Try again in 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_holds_for_one_username_from_one_address_only(editor: User, settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong guess")

    response = sign_in(Client(), PASSWORD, address="198.51.100.9")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_spoofed_forwarded_for_header_does_not_escape_the_lockout_behind_one_proxy(
    editor: User, settings: Any
) -> None:
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    client = Client()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}, 203.0.113.7")

    response = sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7")

    assert response.status_code == 429


def test_staff_lift_a_lockout_with_axes_reset_ip_username(editor: User, settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong guess")

    call_command("axes_reset_ip_username", "203.0.113.7", "editor", stdout=io.StringIO())

    assert sign_in(client, PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "weak", ["password", "12345678", "qwertyuiop", "9081726354", "Tr0ub4dor", "editor-editor"]
)
def test_a_weak_staff_password_is_refused_in_the_admin(weak: str) -> None:
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    client.force_login(root)

    response = client.post(
        "/admin/auth/user/add/",
        {"username": "editor-editor", "password1": weak, "password2": weak, "usable_password": "true"},
    )

    assert response.status_code == 200
    assert not User.objects.filter(username="editor-editor").exists()


def test_a_strong_staff_password_is_accepted_in_the_admin() -> None:
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    client.force_login(root)

    response = client.post(
        "/admin/auth/user/add/",
        {"username": "editor2", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert User.objects.filter(username="editor2").exists()
