"""What the customer does: pay, ask for another draft, send it to the editors, read the article."""

from __future__ import annotations

from django.conf import settings

from articles.models import ArticleVersion
from purchases.actions.base import Audience, OrderAction, article_unpublished_refusal, open_run_refusal
from purchases.errors import ApplicationError, DraftOutdated
from purchases.models import Order, OrderStatus, RunSpend

S = OrderStatus


class Pay(OrderAction):
    """The customer pays at Stripe Checkout; Stripe's event or the reconciler records the payment.

    Offered to the customer while a checkout is open (PENDING_PAYMENT). Recording a payment is also
    allowed from FAILED when no money had been taken (the checkout expired, a payment failed):
    money taken is never refused. Effect: ``order_mark_paid``, which enqueues the first run (or, for
    an order that needs approval, leaves it AWAITING_APPROVAL for staff).
    """

    name = "pay"
    label = "Pay"
    audience = Audience.CUSTOMER
    to_status = S.PROCESSING
    # An order that needs approval waits for staff once paid (``order_approval_await``).
    also_to = frozenset({S.AWAITING_APPROVAL})
    from_statuses = frozenset({S.PENDING_PAYMENT, S.FAILED})
    refused = "This order is not waiting for a payment; right now {state}."
    link = True

    def unavailable(self, order: Order) -> ApplicationError | None:
        if order.is_paid:
            return self.error("This order is paid already.")
        return self.status_refusal(order)

    def is_offered(self, order: Order) -> bool:
        return order.awaits_payment


class Regenerate(OrderAction):
    """Start a new run from the customer's review (QUALITY_CHECK -> PROCESSING), within the spend limits.

    No longer offered once the order has had ``MAX_REGENERATIONS_PER_ORDER`` regenerations (the
    row says so); blocked once its runs have spent ``MAX_TOKENS_PER_ORDER`` model tokens (a query)
    and while a run of the order is still open. Effect: ``order_regenerate``.
    """

    name = "regenerate"
    label = "Regenerate"
    audience = Audience.CUSTOMER
    to_status = S.PROCESSING
    from_statuses = frozenset({S.QUALITY_CHECK})
    refused = "A draft can be regenerated only while it awaits your review; right now {state}."

    def unavailable(self, order: Order) -> ApplicationError | None:
        cap = settings.MAX_REGENERATIONS_PER_ORDER
        refusal = self.status_refusal(order)
        if refusal is None and order.regeneration_count >= cap:
            return self.error(
                f"This order has had {order.regeneration_count} regenerations, the most one order may have. "
                "Submit the current draft for editorial review."
            )
        return refusal

    def blocked(self, order: Order) -> ApplicationError | None:
        cap = settings.MAX_TOKENS_PER_ORDER
        if RunSpend.objects.tokens_spent(order_id=order.id) >= cap:
            return self.error(
                "This order has used its writing allowance, so no new draft can be written. "
                "Submit the current draft for editorial review."
            )
        return article_unpublished_refusal(order) or open_run_refusal(order)


class SubmitForReview(OrderAction):
    """The customer sends a draft to the editors: the current one, or any of the order's drafts
    ``draft_refusal`` allows, which then becomes the current one. Effect: ``order_submit_for_review``.
    """

    name = "submit_for_review"
    label = "Submit for editorial review"
    audience = Audience.CUSTOMER
    to_status = S.ADMIN_REVIEW
    # Not SCHEDULED -> ADMIN_REVIEW: that is staff cancelling a schedule.
    from_statuses = frozenset({S.QUALITY_CHECK})
    refused = "Only a draft awaiting your review can be submitted; right now {state}."
    outdated = (
        "The article has changed since draft {number} was written, so it can no longer be submitted. "
        "Submit a newer draft, or ask for a new one."
    )

    def draft_refusal(self, order: Order, *, draft: ArticleVersion, number: int) -> ApplicationError | None:
        """Why ``draft`` (draft ``number`` of ``order``) cannot be the one submitted; None when it can.

        An earlier backlink draft must have been made on the article's current published version:
        one on an older base would be published over text the article no longer has. The current
        draft may always be submitted (publishing carries its link over or re-runs it, as before),
        and so may any draft of an article order, which has no base. Reads the order's article as
        loaded: callers that act hold the order's row lock and load it with the order.
        """
        if draft.pk == order.current_version_id or draft.base_version_id is None:
            return None
        live_id = order.article.published_version_id if order.article is not None else None
        if draft.base_version_id != live_id:
            return DraftOutdated(
                self.outdated.format(number=number), fields={"versionId": ["Outdated draft."]}
            )
        return None


class ViewArticle(OrderAction):
    """The customer reads the published article: a link, no move."""

    name = "view_article"
    label = "Read the article"
    audience = Audience.CUSTOMER
    from_statuses = frozenset({S.PUBLISHED})
    link = True
