"""What Stripe's events and the workers do: a draft finished, a payment or a run failed."""

from __future__ import annotations

from datetime import datetime

from purchases.actions.base import Audience, OrderAction
from purchases.actions.staff import draft_missing_refusal
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


class PublishScheduled(OrderAction):
    """The periodic job publishes a scheduled order that is due: SCHEDULED -> PUBLISHED through the
    publish service, to a run (PROCESSING) when the article moved on under the link, or back to the
    editors (ADMIN_REVIEW) when it cannot be published. Effect: ``order_scheduled_publish``.

    ``is_due`` (the row alone) says whether the job should try; ``check`` then refuses an order it
    cannot publish: no draft, or a link whose article is no longer published (``blocked``).
    """

    name = "publish_scheduled"
    label = "Publish as scheduled"
    audience = Audience.SYSTEM
    to_status = S.PUBLISHED
    from_statuses = frozenset({S.SCHEDULED})
    also_to = frozenset({S.PROCESSING, S.ADMIN_REVIEW})
    refused = "Only a scheduled order can be published as scheduled (now {status})."

    def is_due(self, order: Order, *, now: datetime) -> bool:
        return self.is_offered(order) and order.publish_at is not None and order.publish_at <= now

    def unavailable(self, order: Order) -> ApplicationError | None:
        return self.status_refusal(order) or draft_missing_refusal(self, order)

    def blocked(self, order: Order) -> ApplicationError | None:
        article = order.article
        if order.kind == Order.Kind.BACKLINK and article is not None and article.published_version_id is None:
            return self.error("The article is no longer published, so the link cannot go live in it.")
        return None
