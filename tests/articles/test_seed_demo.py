"""seed_demo: the admin/admin login exists only on a developer's machine (local settings)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from articles.demo_content import DEMO_ARTICLES, DEMO_CATEGORIES
from articles.models import Article, Category

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def signs_in(password: str) -> bool:
    return (
        authenticate(RequestFactory().post("/admin/login/"), username="admin", password=password) is not None
    )


def test_seed_demo_refuses_the_default_admin_password_outside_local_settings() -> None:
    with pytest.raises(CommandError, match="Refusing to create the admin user with the default password"):
        seed()

    assert not User.objects.exists()
    assert not Article.objects.exists()


def test_seed_demo_creates_admin_admin_under_local_settings(settings: Any) -> None:
    settings.DEMO_ADMIN_DEFAULT_PASSWORD = True

    assert "created superuser admin / admin (local demo only)" in seed()

    assert signs_in("admin")


@pytest.mark.parametrize("weak", ["password", "12345678", "admin"])
def test_seed_demo_refuses_a_weak_admin_password(weak: str) -> None:
    with pytest.raises(CommandError, match="--admin-password"):
        seed("--admin-password", weak)

    assert not User.objects.exists()


def test_seed_demo_creates_the_admin_with_a_given_strong_password() -> None:
    seed("--admin-password", "a long unguessable pass")

    assert signs_in("a long unguessable pass")
    assert Article.objects.exists()


def test_seed_demo_without_the_admin_needs_no_password() -> None:
    seed("--no-admin")

    assert not User.objects.exists()
    assert Article.objects.exists()


def test_seed_demo_creates_n_articles_with_m_slots_each_and_is_idempotent() -> None:
    seed("--no-admin", "--articles", "7", "--slots", "40")
    seed("--no-admin", "--articles", "7", "--slots", "40")

    assert Article.objects.count() == 7
    assert set(Article.objects.values_list("max_backlinks", flat=True)) == {40}
    assert all(article.published_version_id for article in Article.objects.all())


def test_seed_demo_without_sizes_keeps_one_article_per_demo_text_and_the_default_slots() -> None:
    seed("--no-admin")

    assert Article.objects.count() == len(DEMO_ARTICLES)
    assert set(Article.objects.values_list("max_backlinks", flat=True)) == {3}


def test_seed_demo_refuses_negative_sizes_and_writes_nothing() -> None:
    with pytest.raises(CommandError, match="--articles must be >= 0"):
        seed("--no-admin", "--articles", "-1")

    assert not Article.objects.exists()


def test_seed_demo_files_every_article_under_its_texts_categories_and_language() -> None:
    seed("--no-admin", "--articles", str(2 * len(DEMO_ARTICLES)), "--slots", "2")

    filed = {
        article.slug: (article.language, {c.slug for c in article.categories.all()})
        for article in Article.objects.prefetch_related("categories")
    }
    assert filed["kraeuter-auf-dem-balkon"] == ("de", {"garden", "food-drink"})
    assert filed["kraeuter-auf-dem-balkon-2"] == ("de", {"garden", "food-drink"})
    assert filed["choose-a-standing-desk-2"] == ("en", {"home-office", "health"})
    assert all(categories for _, categories in filed.values())
    assert Category.objects.count() == len(DEMO_CATEGORIES)
