"""What the customer does: pay, ask for another draft, send it to the editors, read the article."""

from __future__ import annotations

from purchases.actions.base import Audience, OrderAction, open_run_refusal
from purchases.errors import ApplicationError
from purchases.models import Order, OrderStatus

S = OrderStatus


class Pay(OrderAction):
    """The customer pays at Stripe Checkout; Stripe's event or the reconciler records the payment.

    Offered to the customer while a checkout is open (PENDING_PAYMENT). Recording a payment is also
    allowed from FAILED when no money had been taken (the checkout expired, a payment failed):
    money taken is never refused. Effect: ``order_mark_paid``, which enqueues the first run.
    """

    name = "pay"
    label = "Pay"
    audience = Audience.CUSTOMER
    to_status = S.PROCESSING
    from_statuses = frozenset({S.PENDING_PAYMENT, S.FAILED})
    refused = "The order is not waiting for a payment (now {status})."
    link = True

    def unavailable(self, order: Order) -> ApplicationError | None:
        if order.is_paid:
            return self.error("This order is paid already.")
        return self.status_refusal(order)

    def is_offered(self, order: Order) -> bool:
        return order.awaits_payment


class Regenerate(OrderAction):
    """Start a new run from the customer's review (QUALITY_CHECK -> PROCESSING), as often as they like.

    Blocked while a run of the order is still open. Effect: ``order_regenerate``.
    """

    name = "regenerate"
    label = "Regenerate"
    audience = Audience.CUSTOMER
    to_status = S.PROCESSING
    from_statuses = frozenset({S.QUALITY_CHECK})
    refused = "A draft can be regenerated only while it awaits your review (now {status})."

    def blocked(self, order: Order) -> ApplicationError | None:
        return open_run_refusal(order)


class SubmitForReview(OrderAction):
    """The customer sends the draft to the editors. Effect: ``order_submit_for_review``."""

    name = "submit_for_review"
    label = "Submit for editorial review"
    audience = Audience.CUSTOMER
    to_status = S.ADMIN_REVIEW
    refused = "Only a draft awaiting your review can be submitted (now {status})."


class ViewArticle(OrderAction):
    """The customer reads the published article: a link, no move."""

    name = "view_article"
    label = "Read the article"
    audience = Audience.CUSTOMER
    from_statuses = frozenset({S.PUBLISHED})
    link = True
