"""Customer and staff email. Each customer email is a row first, sent after commit, once.

``order_email_queue`` runs inside the caller's transaction, so the email exists exactly when the
state change that caused it does, and its delivery is deferred to ``transaction.on_commit``.

Delivery is **claim-then-send**, and no transaction is open while the provider is called:

1. claim: one atomic ``UPDATE`` (its own short transaction) sets ``claimed_until`` to now plus
   ``EMAIL_CLAIM_LEASE`` on a row that is unsent and not claimed, or whose claim has lapsed;
   a deliverer that updates no row stops there;
2. send: render and hand the message to the backend, holding no lock and no transaction;
3. record: a second short ``UPDATE`` stores ``sent_at`` and the provider's message id, or on a
   provider error stores the error and releases the claim so the reconciler retries it.

Why not lock the row while sending (the earlier design)? A slow or hanging provider then kept a
database connection and a transaction open for the whole call, holding the row lock and
blocking every other deliverer (the after-commit hook, the reconciler) behind it. With a
claim, a second deliverer finds the row claimed and returns at once. Both designs send at least
once, with the same window: a process that dies after the provider accepted the message but
before ``sent_at`` is recorded sends it again, here when the lease lapses (there, when the
transaction rolled back). The lease is far longer than any provider call (anymail's HTTP timeout
is 30 s), so a live deliverer never loses its claim mid-send.

"Revision ready" emails go out at most once per ``REVISION_EMAIL_MIN_INTERVAL_SECONDS`` per order,
however fast the drafts come (the order page still lists every draft). Their claim is taken under
the order's row lock, which serialises the deliverers of one order, and is refused while another
revision email of the order is being sent or went out within the interval: the row stays unsent
and the reconciler's unsent-email pass (every minute) tries again. An older revision email whose
order has a newer one is folded into it (``coalesced_into``) and never sent: the newer one shows
the current draft. So the customer always gets the email for the latest draft, at most a minute
or two late, and never a burst.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from articles.selectors import version_preview
from blogorder.compiled_reads import CompiledRead
from purchases.models import EmailKind, EmailRecord, Order, OrderMessage
from purchases.sql import insert_unless_conflict
from purchases.status_messages import customer_failure_reason
from purchases.tokens import make_order_token

logger = logging.getLogger(__name__)

# How long a deliverer owns an email it is sending; after that another may take it over.
EMAIL_CLAIM_LEASE = timedelta(minutes=5)

SUBJECTS = {
    EmailKind.BACKLINK_INTEGRATED: "Your backlink is ready for review",
    EmailKind.REVISION_READY: "Your revised backlink placement is ready",
    EmailKind.ARTICLE_READY: "Your sponsored article is ready for review",
    EmailKind.ORDER_FAILED: "We could not complete your order",
    EmailKind.ORDER_DELAYED: "Your order is delayed",
    EmailKind.REVIEW_REJECTED: "Your editor asked for a different placement",
    EmailKind.PUBLISHED: "Your link is live",
    EmailKind.REFUNDED: "Your order has been refunded",
    EmailKind.STAFF_MESSAGE: "A message from our editors about your order",
    EmailKind.CUSTOMER_MESSAGE: "The customer wrote about their order",
    EmailKind.AWAITING_APPROVAL: "Payment received: your link is waiting for the publisher's approval",
    EmailKind.TARGET_ACCEPTED: "Your link was accepted: we are writing now",
    EmailKind.TARGET_DECLINED: "Your link was declined and your payment refunded",
    EmailKind.ARTICLE_UNPUBLISHED: "The article with your link is offline for now",
    EmailKind.ARTICLE_REPUBLISHED: "The article with your link is live again",
}
# Emails to staff (a customer's messages): they link to the admin, never to the customer's order page.
STAFF_EMAIL_KINDS = frozenset({EmailKind.CUSTOMER_MESSAGE})
# Digests of an order's messages (``purchases/services/messages.py``).
MESSAGE_EMAIL_KINDS = frozenset({EmailKind.STAFF_MESSAGE, EmailKind.CUSTOMER_MESSAGE})
# New-article orders, where the backlink wording would be wrong.
ARTICLE_ORDER_SUBJECTS = {
    EmailKind.REVISION_READY: "A fresh draft of your sponsored article is ready",
    EmailKind.REVIEW_REJECTED: "Your editor asked for changes to your article",
    EmailKind.AWAITING_APPROVAL: "Payment received: your article order is waiting for the publisher's approval",
    EmailKind.TARGET_ACCEPTED: "Your article order was accepted: we are writing now",
    EmailKind.TARGET_DECLINED: "Your article order was declined and your payment refunded",
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


def order_email_queue(*, order: Order, kind: str, key: str, note: str = "", to: str = "") -> EmailRecord:
    """Record that ``order`` owes the customer (or ``to``: staff) this email; it is sent when the
    transaction commits. An email of the same order, kind and key is owed once: queued again, the
    row already there is returned and nothing more is sent."""
    record = EmailRecord(
        order=order,
        kind=kind,
        key=key,
        to=to or order.customer_email,
        subject=email_subject(order=order, kind=kind),
        note=note,
    )
    if not _email_insert_once(record):
        return EmailRecord.objects.get(order=order, kind=kind, key=key)
    transaction.on_commit(lambda: email_record_deliver(record_id=record.pk), robust=True)
    return record


def _email_insert_once(record: EmailRecord) -> bool:
    """Insert ``record`` (setting its pk) unless its order, kind and key have an email already: one
    statement (``insert_unless_conflict``; ``get_or_create`` cost a lookup and a savepoint around
    the insert, four statements, for the same outcome)."""
    fields = [field for field in EmailRecord._meta.concrete_fields if not field.primary_key]
    return insert_unless_conflict(record, fields=fields, conflict=("order", "kind", "key"))


# The note of the refund that follows a final failure (``order_auto_refund``): the failure is told in
# customer words instead of the stored reason.
AUTO_REFUND_NOTE = "Automatic refund: "


def _customer_reason(record: EmailRecord) -> str:
    """The reason an email gives. Why an order failed is told in customer words
    (``customer_failure_reason``), never the reason stored for staff; otherwise the email's note (an
    editor's or staff's words for the customer)."""
    order = record.order
    failure = record.kind == EmailKind.ORDER_FAILED or (
        record.kind == EmailKind.REFUNDED and record.note.startswith(AUTO_REFUND_NOTE)
    )
    if failure and order.failure_reason:
        return capfirst(customer_failure_reason(order)) + "."
    return record.note or ""


def digest_messages(record: EmailRecord) -> list[OrderMessage]:
    """The messages a digest email carries: those marked with its key (less the recipient's ``/n``)."""
    key = record.key.partition("/")[0]
    return list(
        OrderMessage.objects.filter(order_id=record.order_id, digest_key=key).select_related("author")
    )


def _render(record: EmailRecord) -> tuple[str, str]:
    order = record.order
    version = order.current_version
    context = {
        "order": order,
        "order_url": order_page_url(order),
        "article_title": order.display_title,
        "preview": version_preview(version) if version else "",
        "reason": _customer_reason(record),
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
    if record.kind in MESSAGE_EMAIL_KINDS:
        context["messages"] = digest_messages(record)
    if record.kind in STAFF_EMAIL_KINDS:
        context["order_url"] = settings.SITE_URL + reverse("admin:purchases_order_change", args=[order.pk])
    text = render_to_string(f"emails/{record.kind}.txt", context)
    html = render_to_string(f"emails/{record.kind}.html", context)
    return text, html


# The email with its order, the order's article and current version: one statement, compiled once
# per thread and connection (every job that moves an order sends one).
EMAIL_FOR_DELIVERY = CompiledRead(
    lambda record_id: EmailRecord.objects.select_related("order__article", "order__current_version").filter(
        pk=record_id
    ),
    params={"record_id": int},
)


def email_record_deliver(*, record_id: int) -> bool:
    """Send one recorded email unless it went out or another deliverer holds it; True when this call sent it.

    Must run outside any transaction (``order_email_queue`` calls it on commit), since it calls the
    provider; see the module docstring for the claim, the lease and the resend window.
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("email_record_deliver calls the mail provider; call it outside a transaction")
    now = timezone.now()
    claim = now + EMAIL_CLAIM_LEASE
    if not _email_claim(record_id=record_id, now=now, claim=claim):
        return False
    record = EMAIL_FOR_DELIVERY.get(record_id=record_id)
    log_extra = {"email_id": record.pk, "kind": record.kind, "order_id": str(record.order_id)}
    try:
        text, html = _render(record)
        message = EmailMultiAlternatives(record.subject, text, settings.DEFAULT_FROM_EMAIL, [record.to])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:  # rendering or the provider failed: keep the error, free the claim for a retry
        EmailRecord.objects.filter(pk=record_id, claimed_until=claim).update(
            error=str(exc)[:2000], claimed_until=None
        )
        logger.exception("email send failed", extra=log_extra)
        return False
    anymail_status = getattr(message, "anymail_status", None)
    recorded = EmailRecord.objects.filter(pk=record_id, sent_at__isnull=True).update(
        sent_at=timezone.now(),
        provider_message_id=str(getattr(anymail_status, "message_id", "") or "")[:255],
        error="",
        claimed_until=None,
    )
    if not recorded:  # our lease lapsed mid-send and another deliverer sent it too
        logger.warning("email sent twice", extra=log_extra)
    logger.info("email sent", extra=log_extra)
    return True


def _email_claim(*, record_id: int, now: datetime, claim: datetime) -> bool:
    """Claim an unsent, unclaimed email until ``claim``; a revision email only if its order's limit allows."""
    claimable = EmailRecord.objects.filter(
        pk=record_id, sent_at__isnull=True, coalesced_into__isnull=True
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    interval = timedelta(seconds=settings.REVISION_EMAIL_MIN_INTERVAL_SECONDS)
    if not interval:
        return bool(claimable.update(claimed_until=claim))
    # Any email but a revision one is claimed by this one UPDATE; a revision email's order is locked first.
    if claimable.exclude(kind=EmailKind.REVISION_READY).update(claimed_until=claim):
        return True
    with transaction.atomic():
        record = claimable.filter(kind=EmailKind.REVISION_READY).only("order_id", "kind").first()
        if record is None:
            return False
        Order.objects.select_for_update().filter(pk=record.order_id).values_list("pk").first()
        revisions = EmailRecord.objects.filter(order_id=record.order_id, kind=EmailKind.REVISION_READY)
        newer = revisions.filter(pk__gt=record_id).order_by("-pk").first()
        if newer is not None:
            # Still unclaimed (we hold the order lock): fold it into the newer email.
            claimable.update(coalesced_into=newer)
            logger.info(
                "revision email coalesced",
                extra={"email_id": record_id, "into": newer.pk, "order_id": str(record.order_id)},
            )
            return False
        if revisions.filter(
            Q(sent_at__gt=now - interval) | Q(sent_at__isnull=True, claimed_until__gte=now)
        ).exists():
            # One went out within the interval, or is going: the reconciler sends this one later.
            logger.info(
                "revision email held", extra={"email_id": record_id, "order_id": str(record.order_id)}
            )
            return False
        return bool(claimable.update(claimed_until=claim))


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
