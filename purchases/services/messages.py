"""The conversation on an order: messages between staff and the customer, and the emails that carry them.

A message is plain text (``message_body_clean``: trimmed, at most ``ORDER_MESSAGE_MAX_CHARS``, no
control characters); pages and emails escape it and never linkify it. Staff write from the admin's
review page, where "request changes" also performs today's ``REJECT`` (``order_reject``, the same
service, in the same transaction) with the message as its reason; customers write from the order
page or ``POST /api/v1/purchase/messages``.

Each new message is emailed to the other side once, as a **digest**: the first message of a side
not yet emailed puts a job on the ``maintenance`` queue after commit, delayed by
``ORDER_MESSAGE_DIGEST_SECONDS`` and keyed by that message's id, so the messages written meanwhile
share its one job. The job (``order_messages_digest_send``) takes every message of that side not yet
in an email, under the order's row lock, and queues one ``EmailRecord`` per recipient (the customer;
or each of ``STAFF_NOTIFICATION_EMAILS``) keyed by the newest message, delivered claim-then-send
after commit (``purchases/services/emails.py``). A second run finds nothing left to send; the
(order, kind, key) unique key makes a repeated email impossible. Posting and the job both hold the
order's row lock, so a message is either taken by a running job or committed after it (and then
schedules its own). A job Redis lost is made up for by the reconciler's pass
(``order_messages_digest_overdue``, every minute, for messages older than the delay plus a minute). A "request changes"
message is not emailed again: the rejection email carries it.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Retry

from blogorder.logs import carried_log_context
from purchases.actions import REJECT, PermissionRequired
from purchases.errors import ActionNotAllowed, InvalidField
from purchases.models import EmailKind, EmailRecord, OrderMessage
from purchases.services.emails import order_email_queue
from purchases.services.orders import order_lock
from purchases.services.review import order_reject
from queueing.connections import rq_queue
from queueing.enqueue import ACTIVE_STATUSES

logger = logging.getLogger(__name__)

Side = OrderMessage.Side
DIGEST_QUEUE = "maintenance"
DIGEST_JOB = "purchases.jobs.order_messages_digest_job"
# Who a side's messages are emailed to, by the kind of email they go in.
DIGEST_EMAIL_KIND = {Side.STAFF: EmailKind.STAFF_MESSAGE, Side.CUSTOMER: EmailKind.CUSTOMER_MESSAGE}
# Control characters other than tab and line breaks: not plain text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def message_body_clean(body: object) -> str:
    """The message as stored: trimmed, line breaks as ``\\n``. Raises ``InvalidField`` naming ``body``."""
    if not isinstance(body, str):
        raise InvalidField("The message must be text.", fields={"body": ["Must be text."]})
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidField("Write a message first.", fields={"body": ["This field is required."]})
    cap = settings.ORDER_MESSAGE_MAX_CHARS
    if len(text) > cap:
        raise InvalidField(
            f"A message can be at most {cap} characters long (this one has {len(text)}).",
            fields={"body": [f"At most {cap} characters."]},
        )
    if _CONTROL.search(text):
        raise InvalidField(
            "A message is plain text: control characters are not allowed.",
            fields={"body": ["Plain text only: no control characters."]},
        )
    return text


def order_message_post(
    *,
    order_id: UUID | str,
    side: str,
    body: object,
    actor: Any = None,
    request_changes: bool = False,
) -> OrderMessage:
    """Add a message to the order's thread; the other side is emailed it in the next digest.

    Staff (``side="staff"``, ``actor`` the user) need the permission to review orders; with
    ``request_changes`` the order is rejected with the message as the reason (``order_reject``: its
    guard, its 409 when the order is not waiting for review, its email) and the message is not
    emailed again. Customers need a paid order (409 ``action_not_allowed`` before). A bad ``body``
    is a 400 naming ``body``; nothing is written on any refusal.
    """
    text = message_body_clean(body)
    if side == Side.STAFF and not REJECT.has_permission(actor):
        raise PermissionRequired("You do not have permission to write to customers (review orders).")
    if side == Side.CUSTOMER and (actor is not None or request_changes):
        raise ValueError("customer messages have no staff author and request no changes")
    with transaction.atomic():
        if request_changes:
            order = order_reject(order_id=order_id, actor=actor, reason=text)
        else:
            order = order_lock(order_id=order_id)
        if side == Side.CUSTOMER and not order.is_paid:
            raise ActionNotAllowed("You can write to our editors once the order is paid.")
        message = OrderMessage.objects.create(
            order=order,
            side=side,
            author=actor if side == Side.STAFF else None,
            body=text,
            requested_changes=request_changes,
        )
        if request_changes:
            # The rejection email (queued by order_reject just now) carries the message.
            rejection = EmailRecord.objects.filter(order=order, kind=EmailKind.REVIEW_REJECTED).latest("pk")
            message.digest_key, message.emailed_at = rejection.key, timezone.now()
            message.save(update_fields=["digest_key", "emailed_at"])
        else:
            order_text = str(order.id)
            transaction.on_commit(
                lambda: order_messages_digest_enqueue(order_id=order_text, side=side), robust=True
            )
    logger.info(
        "order message posted",
        extra={
            "order_id": str(order.id),
            "side": side,
            "chars": len(text),
            "request_changes": request_changes,
        },
    )
    return message


def digest_job_id(*, order_id: UUID | str, side: str, first_message_id: int) -> str:
    return f"order-messages-{order_id}-{side}-{first_message_id}"


def order_messages_digest_enqueue(*, order_id: UUID | str, side: str) -> str | None:
    """After commit: the digest job of the side's messages not yet emailed, delayed by
    ``ORDER_MESSAGE_DIGEST_SECONDS`` (0: now). Returns its job id, or None when there is nothing.

    One job per first message waiting (its id is in the job id), so messages written within the
    delay share it. Best effort: Redis unreachable is logged, and the reconciler's pass sends the
    digest late (``order_messages_digest_overdue``).
    """
    first = (
        OrderMessage.objects.filter(order_id=order_id, side=side, digest_key="")
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if first is None:
        return None
    job_id = digest_job_id(order_id=order_id, side=side, first_message_id=first)
    try:
        queue = rq_queue(DIGEST_QUEUE)
        existing = queue.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=False) in ACTIVE_STATUSES:
            return job_id
        options: dict[str, Any] = {
            "kwargs": {"order_id": str(order_id), "side": side},
            "job_id": job_id,
            "retry": Retry(max=len(settings.RQ_RETRY_INTERVALS), interval=settings.RQ_RETRY_INTERVALS),
            "meta": carried_log_context(),
            "description": f"{job_id} (message digest)",
        }
        delay = settings.ORDER_MESSAGE_DIGEST_SECONDS
        if delay > 0:
            queue.enqueue_in(timedelta(seconds=delay), DIGEST_JOB, **options)
        else:
            queue.enqueue(DIGEST_JOB, **options)
    except RedisError as exc:
        logger.warning(
            "message digest not scheduled; the reconciler sends it",
            extra={"order_id": str(order_id), "side": side, "error": str(exc)},
        )
        return None
    return job_id


def order_messages_digest_send(*, order_id: UUID | str, side: str) -> int:
    """Queue one email to the other side with every message of ``side`` not yet emailed. Returns how many.

    Idempotent: under the order's row lock the messages are marked with the email's key, so a
    second run finds none; each email is a row with a unique key, sent once after commit.
    """
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        pending = list(order.messages.filter(side=side, digest_key="").order_by("id"))
        if not pending:
            return 0
        key = f"{side}-messages-{pending[-1].pk}"
        kind = DIGEST_EMAIL_KIND[Side(side)]
        if side == Side.CUSTOMER:
            for number, address in enumerate(settings.STAFF_NOTIFICATION_EMAILS):
                order_email_queue(order=order, kind=kind, key=f"{key}/{number}", to=address)
        else:
            order_email_queue(order=order, kind=kind, key=key)
        OrderMessage.objects.filter(pk__in=[m.pk for m in pending]).update(
            digest_key=key, emailed_at=timezone.now()
        )
    logger.info(
        "message digest queued", extra={"order_id": str(order_id), "side": side, "messages": len(pending)}
    )
    return len(pending)


def order_messages_digest_overdue(*, grace: timedelta = timedelta(minutes=1)) -> int:
    """The reconciler's pass: digests whose job never ran (Redis lost it) are sent now. Returns the messages sent."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_MESSAGE_DIGEST_SECONDS) - grace
    overdue = (
        OrderMessage.objects.filter(digest_key="", created_at__lte=cutoff)
        .values_list("order_id", "side")
        .distinct()
    )
    return sum(
        order_messages_digest_send(order_id=order_id, side=side) for order_id, side in list(overdue)[:200]
    )
