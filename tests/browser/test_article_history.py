"""An article's history in the admin, in a browser: the version list with who and why, picking two
versions and comparing them side by side (stacked at 390 px), and a restore from its confirmation.

Screenshots: ``history-*.png`` and ``compare-*.png`` at 1280 and 390 px (tests/browser/support.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from playwright.sync_api import expect

from articles.models import Article
from articles.services import article_edit_publish
from tests.browser.support import A11yReport, Shots, admin_sign_in
from tests.factories import ARTICLE_BODY, make_published_article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def publisher() -> tuple[User, str, str]:
    """A staff editor who may publish articles (no superuser)."""
    user = User.objects.create_user("editor", "editor@example.com", "editor-pass-1234", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="articles",
            codename__in=["view_article", "change_article", "publish_article"],
        )
    )
    return user, "editor", "editor-pass-1234"


def history_of(user: User) -> Article:
    """Three versions by the editor, with reasons; the second carries hostile text."""
    article = make_published_article(title="Ten Ways to Sleep Better")
    article_edit_publish(
        article=article,
        title=article.title,
        body_markdown=ARTICLE_BODY.replace("Weekends count too.", f"Weekends count too. {HOSTILE}"),
        actor=user,
        reason="A reader's comment pasted in by mistake.",
    )
    article.refresh_from_db()
    article_edit_publish(
        article=article,
        title=article.title,
        body_markdown=ARTICLE_BODY.replace("cheapest performance upgrade", "simplest health habit")
        + "\n## Move in the day\n\nA walk in the afternoon makes the evening easier.\n",
        actor=user,
        reason="Tightened the opening and added a section on exercise.",
    )
    article.refresh_from_db()
    return article


def test_the_history_compares_two_versions_and_restores_one(
    site: str, new_page: Callable[[], Any], shots: Callable[[str], Shots], a11y: A11yReport
) -> None:
    user, *login = publisher()
    article = history_of(user)
    page = new_page()
    admin_sign_in(page, site, *login)

    page.goto(f"{site}/admin/articles/article/{article.pk}/change/")
    page.get_by_role("link", name="Versions, compare & restore").click()
    expect(page.get_by_role("heading", name=f"History of “{article.title}”")).to_be_visible()
    expect(page.locator("td.why", has_text="Tightened the opening")).to_be_visible()
    history = shots("history")
    history.take(page, "list")
    a11y.scan(page, "admin article history")

    page.get_by_label("Compare v1 as A").check()
    page.get_by_label("Compare v3 as B").check()
    page.get_by_role("button", name="Compare A with B").click()
    expect(page).to_have_url(
        re.compile(rf"/admin/articles/article/{article.pk}/compare/\?(?=.*\ba=1)(?=.*\bb=3)")
    )
    expect(page.locator("table.diff")).to_contain_text("A walk in the afternoon")
    compare = shots("compare")
    compare.take(page, "v1-v3")
    a11y.scan(page, "admin article compare")

    page.goto(f"{site}/admin/articles/article/{article.pk}/compare/?a=1&b=2")
    expect(page.locator("table.diff")).to_contain_text('<script>alert("x")</script>')  # shown as text
    assert page.evaluate("document.querySelectorAll('table.diff script, table.diff img').length") == 0
    compare.take(page, "hostile-escaped")

    page.goto(f"{site}/admin/articles/article/{article.pk}/versions/")
    page.locator("tr", has_text="v1").get_by_role("link", name="Restore this version…").click()
    expect(
        page.get_by_role("heading", name="Changes against the published version (v3 → v1)")
    ).to_be_visible()
    history.take(page, "restore-confirm")
    page.get_by_label("Reason").fill("Back to the original while we check the exercise section.")
    page.get_by_role("button", name="Restore v1 as a new version").click()
    expect(page.locator(".messagelist")).to_contain_text("Version 1 restored and published as version 4.")
    expect(page.locator("tr.live")).to_contain_text("Restore of v1")
    history.take(page, "restored")
