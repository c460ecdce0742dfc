"""Load demo categories and published articles (idempotent: existing slugs are left alone) and a staff login.

``--articles N --slots M`` makes N articles (the demo texts in turn, numbered slugs past the first
round) with M backlink slots each, so a benchmark can place thousands of orders. Each article gets
its demo text's language and categories.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from articles.demo_content import DEMO_ARTICLES, DEMO_CATEGORIES
from articles.models import Article
from articles.services import article_create, category_ensure

DEFAULT_PASSWORD = "admin"


class Command(BaseCommand):
    help = (
        "Create demo published articles and an 'admin' superuser: password 'admin' under local settings "
        "only, else the one given with --admin-password."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-admin", action="store_true", help="Do not create the admin user.")
        parser.add_argument(
            "--admin-password",
            help="Password for the admin user (the password validators apply); required outside local settings.",
        )
        parser.add_argument(
            "--articles",
            type=int,
            default=len(DEMO_ARTICLES),
            help=f"How many articles (default {len(DEMO_ARTICLES)}, one per demo text; more repeat the texts).",
        )
        parser.add_argument(
            "--slots",
            type=int,
            default=None,
            help="Backlink slots per article (default: the model's default).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = None if options["no_admin"] else self._admin_password(options["admin_password"])
        count, slots = options["articles"], options["slots"]
        if count < 0 or (slots is not None and not 0 <= slots <= 32767):
            raise CommandError("--articles must be >= 0 and --slots between 0 and 32767")
        extra = {} if slots is None else {"max_backlinks": slots}
        categories = {
            slug: category_ensure(slug=slug, name=name, description=description)
            for slug, (name, description) in DEMO_CATEGORIES.items()
        }
        for index in range(count):
            item = DEMO_ARTICLES[index % len(DEMO_ARTICLES)]
            round_ = index // len(DEMO_ARTICLES)
            slug = item["slug"] if round_ == 0 else f"{item['slug']}-{round_ + 1}"
            if Article.objects.filter(slug=slug).exists():
                self.stdout.write(f"exists: {slug}")
                continue
            article = article_create(
                title=item["title"] if round_ == 0 else f"{item['title']} ({round_ + 1})",
                slug=slug,
                body_markdown=item["body"],
                backlink_price=Decimal(item["price"]),
                language=item["language"],
                categories=[categories[slug] for slug in item["categories"].split(",")],
                **extra,
            )
            if count <= 50:
                self.stdout.write(self.style.SUCCESS(f"published: {article.slug} (id {article.pk})"))
        if count > 50:
            self.stdout.write(self.style.SUCCESS(f"{count} articles present"))
        if password is not None:
            user_model = get_user_model()
            if not user_model.objects.filter(username="admin").exists():
                user_model.objects.create_superuser("admin", "admin@localhost", password)
                shown = "admin / admin (local demo only)" if password == DEFAULT_PASSWORD else "admin"
                self.stdout.write(self.style.WARNING(f"created superuser {shown}"))

    def _admin_password(self, given: str | None) -> str:
        """The admin's password; refuses (before writing anything) what must not become a staff login.

        The well-known default only where ``DEMO_ADMIN_DEFAULT_PASSWORD`` is on (local settings):
        anywhere else ``admin``/``admin`` is the first thing an attacker tries.
        """
        if given is None:
            if not settings.DEMO_ADMIN_DEFAULT_PASSWORD:
                raise CommandError(
                    "Refusing to create the admin user with the default password outside local settings: "
                    "pass --admin-password (the password validators apply) or --no-admin."
                )
            return DEFAULT_PASSWORD
        try:
            validate_password(given, user=get_user_model()(username="admin", email="admin@localhost"))
        except ValidationError as exc:
            raise CommandError("--admin-password: " + " ".join(exc.messages)) from exc
        return given
