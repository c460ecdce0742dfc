"""What Stripe's events and the workers do: a draft finished, a payment or a run failed."""

from __future__ import annotations

from purchases.actions.base import Audience, OrderAction
from purchases.errors import ApplicationError
from purchases.models import Order, OrderStatus

S = OrderStatus


class FinishDraft(OrderAction):
    """A job run's draft passed its checks: PROCESSING -> QUALITY_CHECK. Effect: ``order_draft_finish``.

    Only the order's latest run may finish it (``run_may_finish``); the pipeline asks the same
    before it starts a run and again before it stores the draft, so a superseded run writes nothing.
    """

    name = "finish_draft"
    label = "Finish the draft"
    audience = Audience.SYSTEM
    to_status = S.QUALITY_CHECK
    from_statuses = frozenset({S.PROCESSING})
    refused = "Only an order being worked on can get a draft (now {status})."

    def run_may_finish(self, order: Order, *, run: int) -> bool:
        return self.allows(order) and order.job_runs == run


class KeepDraft(OrderAction):
    """A run stopped at the order's token cap: PROCESSING -> QUALITY_CHECK with the draft it already had.

    Nothing paid is lost: the customer can still submit that draft. Only an order with a draft,
    on its latest run (``run_may_keep``). Effect: ``order_draft_keep``.
    """

    name = "keep_draft"
    label = "Keep the current draft"
    audience = Audience.SYSTEM
    to_status = S.QUALITY_CHECK
    from_statuses = frozenset({S.PROCESSING})
    refused = "Only an order being worked on can go back to its draft (now {status})."

    def unavailable(self, order: Order) -> ApplicationError | None:
        refusal = self.status_refusal(order)
        if refusal is None and order.current_version_id is None:
            return self.error("The order has no draft to go back to.")
        return refusal

    def run_may_keep(self, order: Order, *, run: int) -> bool:
        return self.allows(order) and order.job_runs == run


class FailPayment(OrderAction):
    """The payment failed or the checkout expired: PENDING_PAYMENT -> FAILED, the slot is free again.

    Effect: ``order_payment_fail``.
    """

    name = "fail_payment"
    label = "Payment failed"
    audience = Audience.SYSTEM
    to_status = S.FAILED
    from_statuses = frozenset({S.PENDING_PAYMENT})
    refused = "Only an order waiting for its payment can fail to be paid (now {status})."


class Fail(OrderAction):
    """A run failed for good: PROCESSING -> FAILED, customer and staff told. Effect: ``order_fail``."""

    name = "fail"
    label = "Fail"
    audience = Audience.SYSTEM
    to_status = S.FAILED
    from_statuses = frozenset({S.PROCESSING})
    refused = "Only an order being worked on can fail (now {status})."
