"""What staff do from the admin: approve & publish, reject, retry, refund; each needs its permission."""

from __future__ import annotations

from typing import Any

from purchases.actions.base import Audience, Done, OrderAction, open_run_refusal
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
    """Start a new run of a paid order that failed: FAILED -> PROCESSING (``JobRequest.Purpose.RETRY``).

    Only when money was taken and none of it given back, and no run is still open. Effect:
    ``order_retry``.
    """

    name = "retry"
    label = "Retry"
    summary = "Starts a new run of the order; the customer is emailed when the new draft is ready."
    audience = Audience.STAFF
    to_status = S.PROCESSING
    from_statuses = frozenset({S.FAILED})
    permission = "purchases.change_order"
    permission_to = "retry orders"
    refused = "Only failed orders can be retried (now {status})."

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
        return open_run_refusal(order)

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
