"""Articles and their versions. An article's published text is the source of truth."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


def language_choices() -> list[tuple[str, str]]:
    """The languages an article may be in: ``ARTICLE_LANGUAGES`` (ISO 639-1 code, name)."""
    return list(settings.ARTICLE_LANGUAGES)


class Category(models.Model):
    """A subject buyers browse the catalog by; staff keep the list in admin."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=200, unique=True)
    published_version = models.OneToOneField(
        "articles.ArticleVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="published_in",
        help_text="The one version readers see. Older versions stay as history.",
    )
    backlink_price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("49.00"),
        validators=[MinValueValidator(Decimal("0.50"))],
    )
    currency = models.CharField(max_length=3, default="usd")
    max_backlinks = models.PositiveSmallIntegerField(
        default=3, help_text="How many paid backlinks this article may carry."
    )
    categories = models.ManyToManyField(
        Category, blank=True, related_name="articles", help_text="One or more subjects buyers filter by."
    )
    language = models.CharField(
        max_length=8, choices=language_choices, default="en", help_text="The language the article is in."
    )
    needs_approval = models.BooleanField(
        default=False,
        help_text="Paid backlink orders wait for staff to accept (or decline and refund) their target "
        "before any writing starts.",
    )
    # Set while the article is unpublished (``articles.services.article_unpublish``): the version that
    # was live, which "publish back" makes live again. Readers, the catalog and checkout see no article.
    unpublished_version = models.ForeignKey(
        "articles.ArticleVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Set while the article is unpublished: the version publishing it back restores.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # The catalog's filters and sorts (purchases/catalog/selectors.py); its text search has
        # trigram indexes on PostgreSQL, made by migration 0006 (Django cannot state them portably).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="article_newest_idx"),
            models.Index(fields=["backlink_price", "id"], name="article_price_idx"),
            models.Index(fields=["language", "-created_at"], name="article_language_idx"),
        ]
        # Changing the published title or text, by hand or by taking a link down, publishes.
        permissions = [("publish_article", "Can publish articles")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.published_version_id is not None

    @property
    def is_unpublished(self) -> bool:
        """Taken off the site by staff (with a reason, ``ArticleEvent``), as opposed to never published."""
        return self.unpublished_version_id is not None


class ArticleVersion(models.Model):
    class Kind(models.TextChoices):
        ORIGINAL = "original", "Original (editorial)"
        EDIT = "edit", "Editorial edit"
        BACKLINK = "backlink", "Customer backlink integration"
        GENERATED = "generated", "Generated article"
        RESTORE = "restore", "Restore of an earlier version"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(help_text="1, 2, 3… within the article.")
    title = models.CharField(max_length=300)
    body_markdown = models.TextField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    base_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="derived_versions"
    )
    backlink_metadata = models.JSONField(default=dict, blank=True)
    qc_report = models.JSONField(default=dict, blank=True)
    llm_model = models.CharField(max_length=120, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    estimated_cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the version becomes the article's published one (it stays set as history).
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who made it and why: the staff user of an edit, a restore or a take-down (versions an order's
    # run wrote have none: their author is the order, ``purchases.OrderDraft``).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why this version was made, in the words of who made it.")
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="restored_as"
    )

    class Meta:
        ordering = ["article_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="version_number_unique_per_article"),
        ]

    def __str__(self) -> str:
        # Reads the article (one query unless it is loaded, as in admin, which selects it).
        return f"{self.article.title} — v{self.number} ({self.get_kind_display()})"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ArticleEvent(models.Model):
    """An article taken off the site or published back: who, when, why, and which version."""

    class Kind(models.TextChoices):
        UNPUBLISHED = "unpublished", "Unpublished"
        REPUBLISHED = "republished", "Published back"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    version = models.ForeignKey(ArticleVersion, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version.number} by {self.actor or 'system'}"
