"""Load demo published articles (idempotent: existing slugs are left alone) and a staff login."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from articles.demo_content import DEMO_ARTICLES
from articles.models import Article
from articles.services import article_create


class Command(BaseCommand):
    help = "Create demo published articles and an 'admin' staff user (password 'admin') for local use."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-admin", action="store_true", help="Do not create the admin user.")

    def handle(self, *args: Any, **options: Any) -> None:
        for item in DEMO_ARTICLES:
            if Article.objects.filter(slug=item["slug"]).exists():
                self.stdout.write(f"exists: {item['slug']}")
                continue
            article = article_create(
                title=item["title"],
                slug=item["slug"],
                body_markdown=item["body"],
                backlink_price=Decimal(item["price"]),
            )
            self.stdout.write(self.style.SUCCESS(f"published: {article.slug} (id {article.pk})"))
        if not options["no_admin"]:
            user_model = get_user_model()
            if not user_model.objects.filter(username="admin").exists():
                user_model.objects.create_superuser("admin", "admin@localhost", "admin")
                self.stdout.write(self.style.WARNING("created superuser admin / admin (local demo only)"))
