"""Customer and staff email. Each customer email is a row first, sent after commit, at most once.

``order_email_queue`` runs inside the caller's transaction, so the email exists exactly when the
state change that caused it does. Delivery locks the row and skips it once ``sent_at`` is set, so
a job that runs twice, or two deliverers racing, send one email.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from articles.content import plain_text
from purchases.models import EmailKind, EmailRecord, Order
from purchases.tokens import make_order_token

logger = logging.getLogger(__name__)

SUBJECTS = {
    EmailKind.BACKLINK_INTEGRATED: "Your backlink is ready for review",
    EmailKind.REVISION_READY: "Your revised backlink placement is ready",
    EmailKind.ARTICLE_READY: "Your sponsored article is ready for review",
    EmailKind.ORDER_FAILED: "We could not complete your order",
    EmailKind.REVIEW_REJECTED: "Your editor asked for a different placement",
    EmailKind.PUBLISHED: "Your link is live",
    EmailKind.REFUNDED: "Your order has been refunded",
}
# New-article orders, where the backlink wording would be wrong.
ARTICLE_ORDER_SUBJECTS = {
    EmailKind.REVISION_READY: "A fresh draft of your sponsored article is ready",
}


def email_subject(*, order: Order, kind: str) -> str:
    if order.kind == Order.Kind.ARTICLE and kind in ARTICLE_ORDER_SUBJECTS:
        return ARTICLE_ORDER_SUBJECTS[EmailKind(kind)]
    return SUBJECTS[EmailKind(kind)]


def order_page_url(order: Order) -> str:
    token = make_order_token(order_id=order.id, token_salt=order.token_salt)
    return (
        f"{settings.SITE_URL}{reverse('purchases:order-page', kwargs={'order_id': order.id})}?token={token}"
    )


def order_email_queue(*, order: Order, kind: str, key: str, note: str = "") -> EmailRecord:
    """Record that ``order`` owes the customer this email; it is sent when the transaction commits."""
    record, created = EmailRecord.objects.get_or_create(
        order=order,
        kind=kind,
        key=key,
        defaults={"to": order.customer_email, "subject": email_subject(order=order, kind=kind), "note": note},
    )
    if created:
        transaction.on_commit(lambda: email_record_deliver(record_id=record.pk), robust=True)
    return record


def _render(record: EmailRecord) -> tuple[str, str]:
    order = record.order
    version = order.current_version
    context = {
        "order": order,
        "order_url": order_page_url(order),
        "article_title": order.display_title,
        "preview": plain_text(version.body_markdown, limit=300) if version else "",
        "reason": record.note or order.failure_reason,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "article_url": (
            f"{settings.SITE_URL}{reverse('article-page', kwargs={'slug': order.article.slug})}"
            if order.article
            else ""
        ),
        "refunded_amount": order.refunded_amount,
        "auto_refund": settings.AUTO_REFUND_ON_FAILURE,
    }
    text = render_to_string(f"emails/{record.kind}.txt", context)
    html = render_to_string(f"emails/{record.kind}.html", context)
    return text, html


def email_record_deliver(*, record_id: int) -> bool:
    """Send one recorded email unless it already went out. Returns True when this call sent it."""
    with transaction.atomic():
        record = (
            EmailRecord.objects.select_for_update(of=("self",))
            .select_related("order__article", "order__current_version")
            .get(pk=record_id)
        )
        if record.sent_at is not None:
            return False
        text, html = _render(record)
        message = EmailMultiAlternatives(record.subject, text, settings.DEFAULT_FROM_EMAIL, [record.to])
        message.attach_alternative(html, "text/html")
        try:
            message.send()
        except Exception as exc:  # the provider failed; the row stays unsent for a later retry
            record.error = str(exc)[:2000]
            record.save(update_fields=["error"])
            logger.exception(
                "email send failed", extra={"email_id": record.pk, "order_id": str(record.order_id)}
            )
            return False
        anymail_status = getattr(message, "anymail_status", None)
        record.provider_message_id = str(getattr(anymail_status, "message_id", "") or "")[:255]
        record.sent_at = timezone.now()
        record.error = ""
        record.save(update_fields=["sent_at", "provider_message_id", "error"])
    logger.info(
        "email sent", extra={"email_id": record.pk, "kind": record.kind, "order_id": str(record.order_id)}
    )
    return True


def staff_notify(*, subject: str, message: str) -> None:
    """Best-effort note to the editors; never blocks the order flow."""
    try:
        send_mail(
            f"[{settings.SITE_NAME}] {subject}",
            message,
            settings.DEFAULT_FROM_EMAIL,
            settings.STAFF_NOTIFICATION_EMAILS,
        )
    except Exception:
        logger.exception("staff notification failed", extra={"subject": subject})
