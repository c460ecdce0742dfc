"""All of a customer's orders by email: the request, and the job that answers it with one email.

Nothing here may tell a stranger whether an address has orders. The request
(``order_lookup_request``) does the same work for any address: it writes an ``OrderLookup`` row
and its job request (the outbox) in one transaction, and the job goes on the ``maintenance``
queue after commit. Only the job (``order_lookup_answer``) looks for orders: with some, it sends
the address one email with a signed link to their listing (``purchases.tokens``, valid
``ORDER_LOOKUP_LINK_TTL_HOURS``); with none it sends nothing, so the service cannot be used to
mail strangers.

Delivery is claim-then-send, as for order emails (``purchases/services/emails.py``): a short
``UPDATE`` claims the pending row for ``LOOKUP_CLAIM_LEASE``, the message is sent with no
transaction open, and a second ``UPDATE`` records the outcome. A job run twice (an RQ retry, the
reconciler putting a lost job back) finds the row answered or claimed and does nothing; a
provider error releases the claim and re-raises, so RQ tries again.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from purchases.models import OrderLookup
from purchases.selectors import customer_orders
from purchases.tokens import customer_email_normalize, make_orders_link_key
from queueing.enqueue import job_request_create

logger = logging.getLogger(__name__)

LOOKUP_QUEUE = "maintenance"
LOOKUP_JOB = "purchases.jobs.order_lookup_job"
# How long a deliverer owns a lookup it is answering; after that another may take it over.
LOOKUP_CLAIM_LEASE = timedelta(minutes=5)
SUBJECT = "Your orders"
# The one answer to every lookup, with orders or without (the API's 202 and the page say it).
LOOKUP_ANSWER = (
    "If this address has orders with us, we are sending it an email with a link to all of them. "
    "The link works for {hours} hours. Nothing arrived after a few minutes? Check the spam folder, "
    "or try the address you ordered with."
)


def lookup_answer_text() -> str:
    return LOOKUP_ANSWER.format(hours=settings.ORDER_LOOKUP_LINK_TTL_HOURS)


PENDING = OrderLookup.Outcome.PENDING


def lookup_job_id(lookup_id: uuid.UUID | str) -> str:
    return f"order-lookup-{lookup_id}"


@transaction.atomic
def order_lookup_request(*, email: str, client_ip: str | None) -> OrderLookup:
    """Record a request for the link to every order of ``email`` and queue its answer after commit.

    The same two rows for any address, whether it has orders or not: the caller's answer and its
    timing reveal nothing. ``email`` must be a valid address (the caller validated it).
    """
    lookup = OrderLookup.objects.create(email=customer_email_normalize(email), client_ip=client_ip)
    job_request_create(
        subject_id=lookup.id,
        run=1,
        job_id=lookup_job_id(lookup.id),
        queue=LOOKUP_QUEUE,
        func=LOOKUP_JOB,
        kwargs={"lookup_id": str(lookup.id)},
    )
    return lookup


def orders_link_url(*, email: str) -> str:
    """The absolute link to the listing of ``email``'s orders, valid ``ORDER_LOOKUP_LINK_TTL_HOURS``."""
    key = make_orders_link_key(email=email)
    return f"{settings.SITE_URL}{reverse('purchases:my-orders')}?key={key}"


def order_lookup_answer(*, lookup_id: uuid.UUID | str) -> str:
    """Answer one lookup: "sent" (one email with the link), "no_orders" (nothing sent) or "skipped".

    Idempotent: only a pending row that no live claim holds is answered, and the answer is
    recorded on it, so running again sends nothing more (at least once: a process that dies
    after the provider accepted the message but before recording it sends it again when the
    lease lapses). Must run outside a transaction: it calls the mail provider. A provider error
    is recorded, the claim released, and the error re-raised for RQ's retry.
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_lookup_answer calls the mail provider; call it outside a transaction")
    now = timezone.now()
    claim = now + LOOKUP_CLAIM_LEASE
    claimed = (
        OrderLookup.objects.filter(pk=lookup_id, outcome=PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=claim)
    )
    if not claimed:
        return "skipped"
    lookup = OrderLookup.objects.get(pk=lookup_id)
    mine = OrderLookup.objects.filter(pk=lookup_id, claimed_until=claim)
    found = customer_orders(email=lookup.email).count()
    log_extra = {"lookup_id": str(lookup.id), "orders": found}
    if not found:
        mine.update(outcome=OrderLookup.Outcome.NO_ORDERS, orders_found=0, claimed_until=None)
        logger.info("orders lookup: no orders, nothing sent", extra=log_extra)
        return "no_orders"
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "orders_url": orders_link_url(email=lookup.email),
        "ttl_hours": settings.ORDER_LOOKUP_LINK_TTL_HOURS,
        "count": found,
    }
    try:
        text = render_to_string("emails/orders_link.txt", context)
        html = render_to_string("emails/orders_link.html", context)
        message = EmailMultiAlternatives(SUBJECT, text, settings.DEFAULT_FROM_EMAIL, [lookup.email])
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:  # rendering or the provider failed: keep the error, free the claim for a retry
        mine.update(error=str(exc)[:2000], claimed_until=None)
        logger.exception("orders lookup email failed", extra=log_extra)
        raise
    anymail_status = getattr(message, "anymail_status", None)
    OrderLookup.objects.filter(pk=lookup_id, outcome=PENDING).update(
        outcome=OrderLookup.Outcome.SENT,
        orders_found=found,
        sent_at=timezone.now(),
        provider_message_id=str(getattr(anymail_status, "message_id", "") or "")[:255],
        error="",
        claimed_until=None,
    )
    logger.info("orders lookup email sent", extra=log_extra)
    return "sent"


def order_lookup_fail(*, lookup_id: uuid.UUID | str, error: str) -> None:
    """The lookup's email could not be sent after the job's retries: recorded, nothing more.

    The customer may ask again (within the rate limits); nothing is owed to them.
    """
    OrderLookup.objects.filter(pk=lookup_id, outcome=PENDING).update(
        outcome=OrderLookup.Outcome.FAILED, error=error[:2000], claimed_until=None
    )
    logger.warning("orders lookup failed for good", extra={"lookup_id": str(lookup_id)})
