"""What staff do from the admin: approve & publish, reject, retry, refund, take a link down; each needs its permission."""

from __future__ import annotations

from typing import Any

from articles.content import extract_links, normalize_href
from articles.models import ArticleVersion
from purchases.actions.base import Audience, Done, OrderAction, article_unpublished_refusal, open_run_refusal
from purchases.errors import ApplicationError, NotRefundable
from purchases.models import Order, OrderStatus

S = OrderStatus


class Publish(OrderAction):
    """Approve & publish the order's draft: ADMIN_REVIEW -> PUBLISHED, or back to PROCESSING.

    Back to a run when the article was republished under the link's paragraph since the draft was
    made. Effect: ``order_approve_and_publish``.
    """

    name = "approve_and_publish"
    label = "Approve & publish"
    summary = "Publishes the draft; the customer is told it is live."
    audience = Audience.STAFF
    to_status = S.PUBLISHED
    also_to = frozenset({S.PROCESSING})
    permission = "purchases.publish_order"
    permission_to = "publish orders"
    refused = "Only orders waiting for review can be published (now {status})."

    def unavailable(self, order: Order) -> ApplicationError | None:
        refusal = self.status_refusal(order)
        if refusal is None and (order.current_version_id is None or order.article_id is None):
            return self.error("This order has no draft to publish.")
        return refusal

    def blocked(self, order: Order) -> ApplicationError | None:
        return article_unpublished_refusal(order)

    def done(self, result: Any) -> Done:
        return Done(result.message, warning=result.outcome == "rebased")


class Reject(OrderAction):
    """Send the draft back to the customer with a reason: ADMIN_REVIEW -> QUALITY_CHECK.

    Effect: ``order_reject``, which emails the reason.
    """

    name = "reject"
    label = "Reject"
    summary = "The customer is emailed the reason; the order returns to them to regenerate and submit again."
    audience = Audience.STAFF
    to_status = S.QUALITY_CHECK
    from_statuses = frozenset({S.ADMIN_REVIEW})
    permission = "purchases.change_order"
    permission_to = "review orders"
    refused = "Only orders waiting for review can be rejected (now {status})."
    needs_reason = True

    def done(self, result: Any) -> Done:
        return Done("rejected; the customer was emailed the reason.")


class Retry(OrderAction):
    """Try a paid order that failed again: FAILED -> PROCESSING with a new run (``JobRequest.Purpose.RETRY``).

    Only when money was taken and none of it given back, and no run is still open. Staff give a
    reason, kept with their name in the timeline (the customer is not emailed it). Effect:
    ``order_retry``. Requeueing the failed job from the RQ dashboard does not do this: the job finds
    its run over and fails with ``purchases.jobs.RunOver``, pointing here.
    """

    name = "retry"
    label = "Try again"
    summary = (
        "Starts a new run of the order; your name and reason are kept in its timeline and the customer "
        "is emailed when the new draft is ready."
    )
    audience = Audience.STAFF
    to_status = S.PROCESSING
    from_statuses = frozenset({S.FAILED})
    permission = "purchases.change_order"
    permission_to = "retry orders"
    refused = "Only failed orders can be retried (now {status})."
    needs_reason = True

    def unavailable(self, order: Order) -> ApplicationError | None:
        refusal = self.status_refusal(order)
        if refusal is not None:
            return refusal
        if not order.is_paid:
            return self.error("This order failed before it was paid, so there is nothing to retry.")
        if order.refunded_amount > 0:
            return self.error("Part of this order was refunded; refund the rest instead of retrying it.")
        return None

    def blocked(self, order: Order) -> ApplicationError | None:
        return article_unpublished_refusal(order) or open_run_refusal(order)

    def done(self, result: Any) -> Done:
        return Done(f"retried as job {result}; the customer is emailed when the new draft is ready.")


class Refund(OrderAction):
    """Refund a paid order in full through Stripe: any status but REFUNDED -> REFUNDED.

    Staff need the refund permission; the automatic refund after a failure runs as the system.
    Effect: ``order_refund`` (which also makes partial refunds, leaving the status as it is).
    """

    name = "refund"
    label = "Refund in full"
    summary = (
        "Each order is refunded in full through Stripe (idempotent), its jobs are stopped and the "
        "customer is emailed with this reason."
    )
    audience = Audience.STAFF
    to_status = S.REFUNDED
    permission = "purchases.refund_order"
    permission_to = "refund orders"
    refused = "This order has already been refunded in full."
    error = NotRefundable
    needs_reason = True

    def unavailable(self, order: Order) -> ApplicationError | None:
        if not order.is_paid:
            return self.error("This order was never paid, so there is nothing to refund.")
        refusal = self.status_refusal(order)
        if refusal is None and order.refundable_minor <= 0:
            return self.error(self.refused)
        return refusal

    def blocked(self, order: Order) -> ApplicationError | None:
        if not order.stripe_payment_intent_id:
            return self.error(
                "No Stripe payment is recorded for this order; refund it in the Stripe dashboard."
            )
        return None

    def done(self, result: Any) -> Done:
        return Done(f"refunded {result.refunded_amount} {result.currency.upper()}; customer emailed.")


class TakeDownLink(OrderAction):
    """Take a refunded or disputed order's link out of the published article, with a reason; no status moves.

    The record says the link is no longer paid for (refunded; or a chargeback open or lost,
    ``Order.link_at_risk``), so the guard no longer keeps it; this is the named, recorded way to
    remove it. It publishes a new version of the article, so it needs the
    article publish permission. ``blocked``: the link must still be in the published text.
    Effect: ``order_link_take_down``.
    """

    name = "take_down_link"
    label = "Take the link down"
    summary = (
        "Publishes a new version of the article without this order's link (its anchor stays as plain "
        "text); your name and reason are kept in the order's timeline. The customer is not emailed."
    )
    audience = Audience.STAFF
    from_statuses = frozenset({S.REFUNDED})
    permission = "articles.publish_article"
    permission_to = "take links down (publish articles)"
    refused = "Only the link of a refunded or disputed order can be taken down (now {status})."
    needs_reason = True

    def unavailable(self, order: Order) -> ApplicationError | None:
        refusal = None if order.link_at_risk else self.status_refusal(order)
        if refusal is None and order.article_id is None:
            return self.error("This order has no article, so it has no link to take down.")
        return refusal

    def blocked(self, order: Order) -> ApplicationError | None:
        live = ArticleVersion.objects.filter(published_in=order.article_id).only("body_markdown").first()
        if live is None or not order_links_in(live.body_markdown, order):
            return self.error("This order's link is not in the published article (anymore).")
        return None

    def done(self, result: Any) -> Done:
        return Done(f"link taken down; the article is now version {result.number}.")


def order_links_in(body: str, order: Order) -> int:
    """How many links in ``body`` are ``order``'s: its target URL with its anchor text, whatever their rel."""
    href = normalize_href(order.target_url)
    return sum(1 for link in extract_links(body) if link.href == href and link.text == order.anchor_text)
