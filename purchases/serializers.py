"""Request and response shapes for the purchase API (camelCase, as the frontend sends them)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from rest_framework import serializers

from articles.drafting.article import DEFAULT_WORD_COUNT, MAX_WORD_COUNT, MIN_WORD_COUNT
from purchases.models import Order, OrderStatus

# Host names that never resolve publicly (RFC 2606 / 6761 and common private suffixes).
_PRIVATE_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".test",
    ".example",
    ".invalid",
    ".lan",
    ".home",
    ".corp",
    ".intranet",
    ".onion",
)
_ANCHOR_FORBIDDEN = re.compile(r"[\[\]{}<>*_~`\\|\x00-\x1f\x7f]")
# Topics and keywords reach the model as data and the pages as text: one plain line each.
_PLAIN_FORBIDDEN = re.compile(r"[\[\]{}<>`\\\x00-\x1f\x7f]")
MAX_KEYWORDS = 10


def validate_public_url(value: str) -> str:
    """An absolute http(s) URL to a public host name (no IP, no credentials), normalized to ASCII."""
    value = value.strip()
    if len(value) > 2000:
        raise serializers.ValidationError("Must be at most 2,000 characters.")
    try:
        URLValidator(schemes=["http", "https"])(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError("Must be an absolute http(s) URL.") from exc
    parts = urlsplit(value)
    host = (parts.hostname or "").rstrip(".")
    if parts.username or parts.password:
        raise serializers.ValidationError("Must not contain a user name or password.")
    try:
        port = parts.port
    except ValueError as exc:  # URLValidator lets any 5 digits through, e.g. :99999
        raise serializers.ValidationError("The port must be a number from 1 to 65535.") from exc
    if port == 0:
        raise serializers.ValidationError("The port must be a number from 1 to 65535.")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise serializers.ValidationError("Must use a public host name, not an IP address.")
    if "." not in host or host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        raise serializers.ValidationError("Must use a public host name.")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise serializers.ValidationError("Host name is not valid.") from exc
    netloc = ascii_host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment))


def _one_plain_line(value: str, *, forbidden: re.Pattern[str], listed: str) -> str:
    """``value`` with inner whitespace collapsed; refused when blank or holding a ``forbidden`` character."""
    if forbidden.search(value):
        raise serializers.ValidationError(f"Must be plain text on one line: no {listed}.")
    value = " ".join(value.split())
    if not value:
        raise serializers.ValidationError("Must not be blank.")
    return value


def validate_anchor_text(value: str) -> str:
    return _one_plain_line(
        value, forbidden=_ANCHOR_FORBIDDEN, listed="brackets, braces, <, >, *, _, ~, `, \\ or |"
    )


def validate_plain_line(value: str) -> str:
    """One line of plain text, inner whitespace collapsed."""
    return _one_plain_line(value, forbidden=_PLAIN_FORBIDDEN, listed="brackets, braces, <, >, ` or \\")


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class CheckoutTypeSerializer(serializers.Serializer):
    """Only ``orderType``: which checkout form the rest of the body is."""

    orderType = serializers.ChoiceField(
        choices=Order.Kind.values, required=False, default=Order.Kind.BACKLINK
    )


class _LinkOrderInSerializer(serializers.Serializer):
    """The fields every order has: the customer's link and how to reach them."""

    targetUrl = StrictCharField(max_length=2000, trim_whitespace=True)
    anchorText = StrictCharField(max_length=100)
    customerNotes = StrictCharField(
        max_length=1000, required=False, allow_blank=True, allow_null=True, default=""
    )
    customerEmail = serializers.EmailField(max_length=254)

    def validate_targetUrl(self, value: str) -> str:  # noqa: N802
        return validate_public_url(value)

    def validate_anchorText(self, value: str) -> str:  # noqa: N802
        return validate_anchor_text(value)

    def validate_customerNotes(self, value: str | None) -> str:  # noqa: N802
        return (value or "").strip()


class CheckoutInSerializer(_LinkOrderInSerializer):
    """A backlink in a published article (the default form)."""

    orderType = serializers.ChoiceField(
        choices=[Order.Kind.BACKLINK], required=False, default=Order.Kind.BACKLINK
    )
    articleId = serializers.IntegerField(min_value=1)


class ArticleCheckoutInSerializer(_LinkOrderInSerializer):
    """A new sponsored article written around the customer's topic and link."""

    orderType = serializers.ChoiceField(choices=[Order.Kind.ARTICLE])
    topic = StrictCharField(min_length=3, max_length=200)
    keywords = serializers.ListField(
        child=StrictCharField(max_length=50), max_length=MAX_KEYWORDS, required=False, default=list
    )
    wordCount = serializers.IntegerField(
        min_value=MIN_WORD_COUNT,
        max_value=MAX_WORD_COUNT,
        required=False,
        allow_null=True,
        default=DEFAULT_WORD_COUNT,
    )

    def validate_topic(self, value: str) -> str:
        return validate_plain_line(value)

    def validate_keywords(self, value: list[str]) -> list[str]:
        """Plain one-line phrases with a letter or digit; repeats (ignoring case) are dropped."""
        kept: dict[str, str] = {}
        for keyword in value:
            keyword = validate_plain_line(keyword)
            if not re.search(r"\w", keyword):
                raise serializers.ValidationError(f"“{keyword}” must contain a letter or a digit.")
            kept.setdefault(keyword.casefold(), keyword)
        return list(kept.values())

    def validate_wordCount(self, value: int | None) -> int:  # noqa: N802
        return DEFAULT_WORD_COUNT if value is None else value


class CheckoutOutSerializer(serializers.Serializer):
    orderId = serializers.UUIDField()
    orderToken = serializers.CharField()
    checkoutUrl = serializers.URLField()


class QueueSerializer(serializers.Serializer):
    jobId = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(
        choices=["queued", "started", "retrying", "finished", "failed"], allow_null=True
    )
    position = serializers.IntegerField(allow_null=True)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    stage = serializers.CharField(allow_null=True)
    attempts = serializers.IntegerField()
    # While a draft is being written: seconds until it should be ready (as regenerate answers); else null.
    estimatedSeconds = serializers.IntegerField(allow_null=True)  # noqa: N815


class ReceiptSerializer(serializers.Serializer):
    """What was paid, when, and its reference; ``receiptUrl`` is Stripe's receipt (https) or null."""

    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    paidAt = serializers.DateTimeField()  # noqa: N815
    reference = serializers.CharField()
    receiptUrl = serializers.URLField(allow_null=True)  # noqa: N815
    testMode = serializers.BooleanField()  # noqa: N815


class OrderStatusSerializer(serializers.Serializer):
    orderId = serializers.UUIDField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(
        choices=OrderStatus.values,
        help_text=(
            "PENDING_PAYMENT, then AWAITING_APPROVAL (paid; only for an order that needs approval: staff "
            "accept the target, or decline it and refund in full), PROCESSING, QUALITY_CHECK, "
            "ADMIN_REVIEW, PUBLISHED; or FAILED, REFUNDED. statusMessage says what the order waits for."
        ),
    )
    # The state in a plain sentence or two for the customer (never an internal status name).
    statusMessage = serializers.CharField()  # noqa: N815
    # The order page's badge for the status ("Being written", "Changes requested"…) and its banner's tone.
    statusLabel = serializers.CharField()  # noqa: N815
    statusTone = serializers.ChoiceField(choices=["ok", "warn", "bad"])  # noqa: N815
    # SCHEDULED: when the approved draft goes live (ISO 8601 with its offset); null otherwise.
    publishAt = serializers.DateTimeField(allow_null=True)  # noqa: N815
    # Null until the order is paid.
    receipt = ReceiptSerializer(allow_null=True)
    queue = QueueSerializer()
    preview = serializers.CharField(allow_blank=True)
    regenerationCount = serializers.IntegerField()
    actions = serializers.ListField(child=serializers.CharField())
    failureReason = serializers.CharField(allow_blank=True)
    updatedAt = serializers.DateTimeField()


class ContentSerializer(serializers.Serializer):
    orderId = serializers.UUIDField()
    versionId = serializers.IntegerField()
    versionNumber = serializers.IntegerField()
    title = serializers.CharField()
    bodyMarkdown = serializers.CharField()
    bodyHtml = serializers.CharField()
    backlinkMetadata = serializers.DictField()
    createdAt = serializers.DateTimeField()


class OrderActionInSerializer(serializers.Serializer):
    orderId = serializers.UUIDField()  # noqa: N815


class SubmitForReviewInSerializer(OrderActionInSerializer):
    versionId = serializers.IntegerField(  # noqa: N815
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Which of the order's drafts to submit (its `versionId` in the versions list); it becomes "
            "the current version. Default: the current draft."
        ),
    )


class MessageInSerializer(OrderActionInSerializer):
    body = serializers.CharField(
        trim_whitespace=False,
        allow_blank=True,
        help_text=(
            "Plain text to the editors: shown as text (never as HTML or links), trimmed, at most "
            "`ORDER_MESSAGE_MAX_CHARS` characters (2000 by default), no control characters."
        ),
    )


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.ChoiceField(
        choices=["staff", "customer"], help_text="`staff`: our editors; `customer`: you."
    )
    authorName = serializers.CharField(help_text="Who wrote it, as the order page says it.")  # noqa: N815
    body = serializers.CharField(help_text="Plain text; show it as text, never as HTML.")
    requestedChanges = serializers.BooleanField(  # noqa: N815
        help_text="The editors sent the draft back with this message as the reason."
    )
    createdAt = serializers.DateTimeField()  # noqa: N815


class RegenerateOutSerializer(serializers.Serializer):
    jobId = serializers.CharField()  # noqa: N815
    estimatedSeconds = serializers.IntegerField()  # noqa: N815


class VersionItemSerializer(serializers.Serializer):
    draftNumber = serializers.IntegerField(  # noqa: N815
        help_text="Draft n within the order (1 is the first), as the order page and the editors' admin number it."
    )
    versionId = serializers.IntegerField()  # noqa: N815
    versionNumber = serializers.IntegerField()  # noqa: N815
    integrationType = serializers.CharField()  # noqa: N815
    current = serializers.BooleanField()
    createdAt = serializers.DateTimeField()  # noqa: N815
    preview = serializers.CharField(allow_blank=True)


class OrderLookupInSerializer(serializers.Serializer):
    """Ask for a link to every order placed with an address."""

    customerEmail = serializers.EmailField(max_length=254)


class OrderLookupOutSerializer(serializers.Serializer):
    """The same answer whether or not the address has orders."""

    message = serializers.CharField()
