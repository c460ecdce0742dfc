"""What staff do from the admin: accept or decline a target, approve & publish, reject, retry, refund,
take a link down; each needs its permission."""

from __future__ import annotations

from typing import Any

from articles.content import extract_links, normalize_href
from articles.models import ArticleVersion
from purchases.actions.base import Audience, Done, OrderAction, article_unpublished_refusal, open_run_refusal
from purchases.errors import ApplicationError, NotRefundable
from purchases.models import Order, OrderStatus

S = OrderStatus


class AcceptTarget(OrderAction):
    """Accept the target of a paid order that needs approval: AWAITING_APPROVAL -> PROCESSING.

    The first run is requested as a payment would have (``order_work_start``) and the customer is
    emailed that writing started. Effect: ``order_target_accept``.
    """

    name = "accept_target"
    label = "Accept target"
    summary = "Starts writing the order; the customer is emailed that their target was accepted."
    audience = Audience.STAFF
    to_status = S.PROCESSING
    from_statuses = frozenset({S.AWAITING_APPROVAL})
    permission = "purchases.approve_target"
    permission_to = "accept or decline order targets"
    refused = "Only orders waiting for approval can have their target accepted (now {status})."

    def done(self, result: Any) -> Done:
        return Done(f"target accepted; writing started as job {result}.")


class DeclineTarget(OrderAction):
    """Decline the target of a paid order that needs approval, with a reason: AWAITING_APPROVAL -> REFUNDED.

    The payment is refunded in full through Stripe (as ``refund``) and the customer is emailed the
    reason. Nothing was written, so there is nothing to stop. Effect: ``order_target_decline``.
    """

    name = "decline_target"
    label = "Decline target"
    summary = "Refunds the order in full through Stripe; the customer is emailed your reason and nothing is written."
    audience = Audience.STAFF
    to_status = S.REFUNDED
    from_statuses = frozenset({S.AWAITING_APPROVAL})
    permission = "purchases.approve_target"
    permission_to = "accept or decline order targets"
    refused = "Only orders waiting for approval can have their target declined (now {status})."
    needs_reason = True

    def blocked(self, order: Order) -> ApplicationError | None:
        return no_payment_refusal(order)

    def done(self, result: Any) -> Done:
        return Done(
            f"target declined; refunded {result.refunded_amount} {result.currency.upper()} and the customer "
            "was emailed the reason."
        )


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
    from_statuses = frozenset({S.ADMIN_REVIEW})
    also_to = frozenset({S.PROCESSING})
    permission = "purchases.publish_order"
    permission_to = "publish orders"
    refused = "Only orders waiting for review can be published (now {status})."

    def unavailable(self, order: Order) -> ApplicationError | None:
        return self.status_refusal(order) or draft_missing_refusal(self, order)

    def blocked(self, order: Order) -> ApplicationError | None:
        return article_unpublished_refusal(order)

    def done(self, result: Any) -> Done:
        return Done(result.message, warning=result.outcome == "rebased")


def draft_missing_refusal(action: OrderAction, order: Order) -> ApplicationError | None:
    """Refuses to publish (now or later) an order without a draft and its article."""
    if order.current_version_id is None or order.article_id is None:
        return action.error("This order has no draft to publish.")
    return None


class SchedulePublish(OrderAction):
    """Approve the draft now and publish it later: ADMIN_REVIEW -> SCHEDULED with ``publish_at``.

    The slot stays held; the periodic job publishes it through the same publish service
    (``order_scheduled_publish``). Effect: ``order_schedule_publish``.
    """

    name = "schedule_publish"
    label = "Approve & schedule"
    summary = (
        "Approves the draft and publishes it at the date and time you choose; the customer sees it scheduled."
    )
    audience = Audience.STAFF
    to_status = S.SCHEDULED
    from_statuses = frozenset({S.ADMIN_REVIEW})
    permission = "purchases.publish_order"
    permission_to = "schedule orders (publish orders)"
    refused = "Only orders waiting for review can be scheduled (now {status})."
    needs_when = True

    def unavailable(self, order: Order) -> ApplicationError | None:
        return self.status_refusal(order) or draft_missing_refusal(self, order)

    def done(self, result: Any) -> Done:
        return Done(result.message)


class CancelSchedule(OrderAction):
    """Take a scheduled order back to the editors: SCHEDULED -> ADMIN_REVIEW. Effect: ``order_schedule_cancel``."""

    name = "cancel_schedule"
    label = "Cancel the schedule"
    summary = "The order goes back to waiting for review; nothing is published."
    audience = Audience.STAFF
    to_status = S.ADMIN_REVIEW
    from_statuses = frozenset({S.SCHEDULED})
    permission = "purchases.publish_order"
    permission_to = "cancel schedules (publish orders)"
    refused = "Only a scheduled order's schedule can be cancelled (now {status})."

    def done(self, result: Any) -> Done:
        return Done("schedule cancelled; the order waits for review again.")


class MoveSchedule(OrderAction):
    """Publish a scheduled order at another date and time; no status moves (recorded SCHEDULED -> SCHEDULED).

    Effect: ``order_schedule_move``.
    """

    name = "move_schedule"
    label = "Move the schedule"
    summary = "Publishes the order at the new date and time instead."
    audience = Audience.STAFF
    from_statuses = frozenset({S.SCHEDULED})
    permission = "purchases.publish_order"
    permission_to = "move schedules (publish orders)"
    refused = "Only a scheduled order can be moved (now {status})."
    needs_when = True

    def done(self, result: Any) -> Done:
        return Done(result.message)


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
        return no_payment_refusal(order)

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


def no_payment_refusal(order: Order) -> ApplicationError | None:
    """Refuses a refund through Stripe (refund, decline_target) when no Stripe payment is on record."""
    if not order.stripe_payment_intent_id:
        return NotRefundable(
            "No Stripe payment is recorded for this order; refund it in the Stripe dashboard."
        )
    return None


def order_links_in(body: str, order: Order) -> int:
    """How many links in ``body`` are ``order``'s: its target URL with its anchor text, whatever their rel."""
    href = normalize_href(order.target_url)
    return sum(1 for link in extract_links(body) if link.href == href and link.text == order.anchor_text)
