"""The publisher's link policy: blocked target domains, niches with their rule, and niches an article refuses.

Staff keep all of it in admin (``policy.admin``). ``policy.selectors.policy_decide`` reads it at
checkout and for quotes; an order keeps what was decided (``purchases.Order.policy_*``).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from policy.domains import InvalidDomain, domain_normalize
from policy.matching import MAX_KEYWORD_CHARS, MAX_KEYWORD_WORDS, split_keywords, words

MAX_KEYWORDS_PER_NICHE = 200


class BlockedDomain(models.Model):
    domain = models.CharField(
        max_length=253,
        unique=True,
        help_text="A domain such as example.com: links to it and to every subdomain (shop.example.com) "
        "are refused; notexample.com is not. Case, a pasted scheme or path, and punycode do not matter.",
    )
    note = models.CharField(max_length=300, blank=True, help_text="Why it is blocked (staff only).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        try:
            self.domain = domain_normalize(self.domain or "")
        except InvalidDomain as exc:
            raise ValidationError({"domain": str(exc)}) from exc


class NicheRule(models.TextChoices):
    ALLOWED = "allowed", "Allowed at the normal price"
    BLOCKED = "blocked", "Blocked"
    SURCHARGE = "surcharge", "Allowed with a surcharge"


class Niche(models.Model):
    Rule = NicheRule

    name = models.CharField(max_length=100, unique=True, help_text="Shown to buyers, e.g. “Gambling”.")
    keywords = models.TextField(
        help_text=f"One a line (or separated by commas). Matched as whole words, ignoring case, against "
        f"the target URL (host and path), the anchor text, the notes and, for new articles, the topic "
        f"and keywords. At most {MAX_KEYWORDS_PER_NICHE} keywords of {MAX_KEYWORD_WORDS} words each."
    )
    rule = models.CharField(max_length=16, choices=NicheRule.choices, default=NicheRule.ALLOWED)
    surcharge_percent = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1000"))],
        help_text="Surcharge rule: a percentage of the base price (fill this or the fixed amount).",
    )
    surcharge_amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("99999"))],
        help_text="Surcharge rule: a fixed amount in the article's currency (fill this or the percentage).",
    )
    needs_approval = models.BooleanField(
        default=False, help_text="Orders in this niche wait, once paid, for staff to accept the target."
    )
    active = models.BooleanField(default=True, help_text="Inactive niches are ignored.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # A surcharge niche has exactly one of a percentage and a fixed amount; other rules none.
            models.CheckConstraint(
                condition=(
                    Q(
                        rule=NicheRule.SURCHARGE,
                        surcharge_percent__isnull=False,
                        surcharge_amount__isnull=True,
                    )
                    | Q(
                        rule=NicheRule.SURCHARGE,
                        surcharge_percent__isnull=True,
                        surcharge_amount__isnull=False,
                    )
                    | (
                        ~Q(rule=NicheRule.SURCHARGE)
                        & Q(surcharge_percent__isnull=True, surcharge_amount__isnull=True)
                    )
                ),
                name="niche_surcharge_exactly_one_when_surcharged",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def keyword_list(self) -> list[str]:
        return split_keywords(self.keywords)

    def rule_words(self) -> str:
        """The rule as buyers and staff read it: "blocked", "surcharge 15%", "surcharge 20.00"…"""
        if self.rule == NicheRule.SURCHARGE:
            if self.surcharge_percent is not None:
                return f"surcharge {self.surcharge_percent.normalize():f}%"
            return f"surcharge {self.surcharge_amount or 0:.2f}"
        return str(self.rule)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        keywords = split_keywords(self.keywords or "")
        if not keywords:
            errors["keywords"] = "Give at least one keyword with a letter or digit."
        elif len(keywords) > MAX_KEYWORDS_PER_NICHE:
            errors["keywords"] = f"At most {MAX_KEYWORDS_PER_NICHE} keywords."
        else:
            too_long = [
                k for k in keywords if len(k) > MAX_KEYWORD_CHARS or len(words(k)) > MAX_KEYWORD_WORDS
            ]
            if too_long:
                errors["keywords"] = (
                    f"Each keyword has at most {MAX_KEYWORD_WORDS} words and {MAX_KEYWORD_CHARS} "
                    f"characters: {', '.join(too_long[:3])}"
                )
            else:
                self.keywords = "\n".join(keywords)
        has_percent, has_amount = self.surcharge_percent is not None, self.surcharge_amount is not None
        if self.rule == NicheRule.SURCHARGE and has_percent == has_amount:
            errors["surcharge_percent"] = (
                "A surcharge is either a percentage or a fixed amount: fill exactly one."
            )
        elif self.rule != NicheRule.SURCHARGE and (has_percent or has_amount):
            errors["surcharge_percent"] = (
                "Only the surcharge rule takes a percentage or an amount: clear them."
            )
        if errors:
            raise ValidationError(errors)


class ArticleNicheRefusal(models.Model):
    """An article refuses links in a niche, whatever the niche's own rule (the publisher's own choice)."""

    article = models.ForeignKey("articles.Article", on_delete=models.CASCADE, related_name="niche_refusals")
    niche = models.ForeignKey(Niche, on_delete=models.CASCADE, related_name="refusals")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "niche"], name="article_niche_refusal_unique"),
        ]
        verbose_name = "article refusing this niche"
        verbose_name_plural = "articles refusing this niche"

    def __str__(self) -> str:
        return f"{self.article_id} refuses {self.niche_id}"
