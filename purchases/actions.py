"""Named order actions: what may happen to an order next, who may do it, and the service that does it.

One class per action, in the spirit of Wagtail's ``PublishRevisionAction``: its ``name`` (the
API's ``actions`` and the admin's action ids), its ``label``, its ``audience`` (customer, staff or
system), the status moves it makes, its guard, and ``execute``. ``ALLOWED_TRANSITIONS`` in
models.py stays the only list of allowed moves: an action names its target (``to_status``) and,
when it is narrower than the table, the statuses it starts from; a move the table does not allow
stops the module from loading (ImproperlyConfigured).

The guard has two tiers. ``unavailable`` judges the order row alone, so the API's ``actions``, the
order page and the admin's buttons ask it for free. ``blocked`` may read other rows and is asked
only by ``check``, which a service calls under the order's row lock before it changes anything. So
the API, the order page, the admin and the jobs share one guard and one set of refusals (codes,
HTTP statuses, messages naming the current status).

The effect stays a service in ``purchases.services``: the service says which action it performs
with ``@ACTION.effect`` and asks ``ACTION.check`` under the lock; ``ACTION.execute(**kwargs)``
runs that service. This module sits below the services and never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ImproperlyConfigured

from purchases.errors import ActionNotAllowed, ApplicationError, NotRefundable
from purchases.models import ALLOWED_TRANSITIONS, Order, OrderStatus, statuses_into
from queueing.models import JobRequest

S = OrderStatus
Service = TypeVar("Service", bound=Callable[..., Any])


class Audience(StrEnum):
    CUSTOMER = "customer"  # holds the order's token; no Django user
    STAFF = "staff"  # a Django user with the action's permission
    SYSTEM = "system"  # Stripe's events, the workers, the reconcilers


class PermissionRequired(ApplicationError):
    """A staff action asked by someone without its permission (403); nothing was changed."""

    status_code = 403
    code = "permission_denied"


@dataclass(frozen=True)
class Done:
    """What a staff action did, in a sentence for the admin's message."""

    message: str
    warning: bool = False


class OrderAction:
    """An action on one order. Subclasses set the class attributes and override the hooks."""

    name: ClassVar[str]
    label: ClassVar[str]
    audience: ClassVar[Audience]
    # What doing it means, in a sentence staff read before they confirm.
    summary: ClassVar[str] = ""
    # The status the action moves the order to; None for an action that moves nothing (a link).
    to_status: ClassVar[str | None] = None
    # The statuses it starts from; default: every status the table lets move to ``to_status``.
    from_statuses: ClassVar[frozenset[str]] = frozenset()
    # Other moves its effect may make instead (publishing may send the order back to a run).
    also_to: ClassVar[frozenset[str]] = frozenset()
    # Staff actions: the Django permission, and what it allows in "You do not have permission to …".
    permission: ClassVar[str | None] = None
    permission_to: ClassVar[str] = ""
    # Refusal in any other status; ``{status}`` is replaced by the order's current status.
    refused: ClassVar[str] = "This action is not possible now (now {status})."
    error: ClassVar[type[ApplicationError]] = ActionNotAllowed
    # Staff actions that ask for a reason (emailed to the customer, kept in the timeline).
    needs_reason: ClassVar[bool] = False
    # Customer actions taken by following a URL (checkout, the article) rather than by posting.
    link: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.to_status is not None and "from_statuses" not in cls.__dict__:
            cls.from_statuses = statuses_into(cls.to_status)
        targets = {cls.to_status, *cls.also_to} - {None}
        for from_status in cls.from_statuses:
            for to_status in targets:
                if to_status not in ALLOWED_TRANSITIONS[from_status]:
                    raise ImproperlyConfigured(
                        f"Action {cls.__name__} moves {from_status} -> {to_status}, "
                        "which ALLOWED_TRANSITIONS does not allow."
                    )

    def __init__(self) -> None:
        self._service: Callable[..., Any] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # --- who -----------------------------------------------------------------------------------

    def has_permission(self, actor: Any) -> bool:
        """Customers and the system need none; staff need an active staff user with ``permission``."""
        if self.permission is None:
            return True
        return bool(
            actor is not None and actor.is_active and actor.is_staff and actor.has_perm(self.permission)
        )

    def check_permission(self, actor: Any) -> None:
        if not self.has_permission(actor):
            raise PermissionRequired(f"You do not have permission to {self.permission_to}.")

    # --- the guard -----------------------------------------------------------------------------

    def status_refusal(self, order: Order) -> ApplicationError | None:
        if order.status in self.from_statuses:
            return None
        return self.error(self.refused.format(status=order.status))

    def unavailable(self, order: Order) -> ApplicationError | None:
        """Why ``order`` cannot take this action, judged from its row alone; None when it can."""
        return self.status_refusal(order)

    def blocked(self, order: Order) -> ApplicationError | None:
        """Why an otherwise available action cannot run right now; may query. Asked by ``check`` only."""
        return None

    def is_offered(self, order: Order) -> bool:
        """Whether the order's state offers the action, whoever asks (no query)."""
        return self.unavailable(order) is None

    def is_available(self, order: Order, actor: Any = None) -> bool:
        """Whether ``actor`` is offered the action on ``order``: what lists and buttons show."""
        return self.has_permission(actor) and self.is_offered(order)

    def check_order(self, order: Order) -> None:
        """Raise the refusal (409 unless the action says otherwise) if ``order`` cannot take it now."""
        refusal = self.unavailable(order) or self.blocked(order)
        if refusal is not None:
            raise refusal

    def allows(self, order: Order) -> bool:
        """``check_order`` as a yes/no, for system services that skip rather than refuse."""
        return (self.unavailable(order) or self.blocked(order)) is None

    def check(self, order: Order, actor: Any = None) -> None:
        """The whole guard: the permission (403), then the order (409). Call it holding the row lock."""
        self.check_permission(actor)
        self.check_order(order)

    # --- the effect ----------------------------------------------------------------------------

    def effect(self, service: Service) -> Service:
        """Decorator: ``service`` performs this action (it calls ``check`` under the row lock)."""
        self._service = service
        return service

    @property
    def performed_by(self) -> Callable[..., Any] | None:
        """The service that performs the action; None for a link, which moves nothing."""
        return self._service

    def execute(self, **kwargs: Any) -> Any:
        """Run the service that performs the action; it checks the guard itself."""
        if self._service is None:
            raise ImproperlyConfigured(f"No service performs the {self.name!r} action.")
        return self._service(**kwargs)

    def done(self, result: Any) -> Done:
        """What ``execute`` did, for staff; the actions they run say it better."""
        return Done(f"{self.label}: done.")


def _open_run_refusal(order: Order) -> ApplicationError | None:
    if JobRequest.objects.open().filter(order=order).exists():
        return ActionNotAllowed("A draft is already being written for this order.")
    return None


# --- customer ------------------------------------------------------------------------------------


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
        return _open_run_refusal(order)


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


# --- system --------------------------------------------------------------------------------------


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


# --- staff ---------------------------------------------------------------------------------------


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
        return _open_run_refusal(order)

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


PAY = Pay()
REGENERATE = Regenerate()
SUBMIT_FOR_REVIEW = SubmitForReview()
VIEW_ARTICLE = ViewArticle()
FINISH_DRAFT = FinishDraft()
FAIL_PAYMENT = FailPayment()
FAIL = Fail()
PUBLISH = Publish()
REJECT = Reject()
RETRY = Retry()
REFUND = Refund()

# Every action, in the order lists show them.
ORDER_ACTIONS: tuple[OrderAction, ...] = (
    PAY,
    REGENERATE,
    SUBMIT_FOR_REVIEW,
    VIEW_ARTICLE,
    FINISH_DRAFT,
    FAIL_PAYMENT,
    FAIL,
    PUBLISH,
    REJECT,
    RETRY,
    REFUND,
)
CUSTOMER_ACTIONS = tuple(a for a in ORDER_ACTIONS if a.audience == Audience.CUSTOMER)
STAFF_ACTIONS = tuple(a for a in ORDER_ACTIONS if a.audience == Audience.STAFF)
ACTIONS_BY_NAME: dict[str, OrderAction] = {a.name: a for a in ORDER_ACTIONS}
if len(ACTIONS_BY_NAME) != len(ORDER_ACTIONS):
    raise ImproperlyConfigured("Two order actions share a name.")


def customer_actions(order: Order) -> list[OrderAction]:
    """What the customer is offered next on ``order`` (the API's ``actions``, the order page)."""
    return [action for action in CUSTOMER_ACTIONS if action.is_available(order)]


def staff_actions(order: Order, user: Any) -> list[OrderAction]:
    """What ``user`` may do to ``order`` from the admin."""
    return [action for action in STAFF_ACTIONS if action.is_available(order, user)]
