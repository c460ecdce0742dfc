"""Named order actions: what may happen to an order next, who may do it, and the service that does it.

One class per action, in the spirit of Wagtail's ``PublishRevisionAction``: its ``name`` (the
API's ``actions`` and the admin's action ids), its ``label``, its ``audience`` (customer, staff or
system), the status moves it makes, its guard, and ``execute``. The ``OrderAction`` base is in
``base``; the actions are in ``customer``, ``system`` and ``staff``; this module holds the registry. ``ALLOWED_TRANSITIONS`` in
models.py stays the only list of allowed moves: an action names its target (``to_status``) and,
when it is narrower than the table, the statuses it starts from; a move the table does not allow
stops the package from loading (ImproperlyConfigured).

The guard has two tiers. ``unavailable`` judges the order row alone, so the API's ``actions``, the
order page and the admin's buttons ask it for free. ``blocked`` may read other rows and is asked
only by ``check``, which a service calls under the order's row lock before it changes anything. So
the API, the order page, the admin and the jobs share one guard and one set of refusals (codes,
HTTP statuses, messages naming the current status).

The effect stays a service in ``purchases.services``: the service says which action it performs
with ``@ACTION.effect`` and asks ``ACTION.check`` under the lock; ``ACTION.execute(**kwargs)``
runs that service. This package sits below the services and never imports them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from purchases.actions.base import Audience, Done, OrderAction, PermissionRequired
from purchases.actions.customer import Pay, Regenerate, SubmitForReview, ViewArticle
from purchases.actions.staff import (
    AcceptTarget,
    CancelSchedule,
    DeclineTarget,
    MoveSchedule,
    Publish,
    Refund,
    Reject,
    Retry,
    SchedulePublish,
    TakeDownLink,
)
from purchases.actions.system import Fail, FailPayment, FinishDraft, KeepDraft, PublishScheduled
from purchases.models import Order

__all__ = [
    "ACCEPT_TARGET",
    "ACTIONS_BY_NAME",
    "CANCEL_SCHEDULE",
    "CUSTOMER_ACTIONS",
    "DECLINE_TARGET",
    "FAIL",
    "FAIL_PAYMENT",
    "FINISH_DRAFT",
    "KEEP_DRAFT",
    "MOVE_SCHEDULE",
    "ORDER_ACTIONS",
    "PAY",
    "PUBLISH",
    "PUBLISH_SCHEDULED",
    "REFUND",
    "REGENERATE",
    "REJECT",
    "RETRY",
    "SCHEDULE_PUBLISH",
    "STAFF_ACTIONS",
    "SUBMIT_FOR_REVIEW",
    "TAKE_DOWN_LINK",
    "VIEW_ARTICLE",
    "Audience",
    "Done",
    "OrderAction",
    "PermissionRequired",
    "customer_actions",
    "staff_actions",
]

PAY = Pay()
REGENERATE = Regenerate()
SUBMIT_FOR_REVIEW = SubmitForReview()
VIEW_ARTICLE = ViewArticle()
FINISH_DRAFT = FinishDraft()
KEEP_DRAFT = KeepDraft()
FAIL_PAYMENT = FailPayment()
FAIL = Fail()
ACCEPT_TARGET = AcceptTarget()
DECLINE_TARGET = DeclineTarget()
PUBLISH_SCHEDULED = PublishScheduled()
PUBLISH = Publish()
SCHEDULE_PUBLISH = SchedulePublish()
CANCEL_SCHEDULE = CancelSchedule()
MOVE_SCHEDULE = MoveSchedule()
REJECT = Reject()
RETRY = Retry()
REFUND = Refund()
TAKE_DOWN_LINK = TakeDownLink()

# Every action, in the order lists show them.
ORDER_ACTIONS: tuple[OrderAction, ...] = (
    PAY,
    REGENERATE,
    SUBMIT_FOR_REVIEW,
    VIEW_ARTICLE,
    FINISH_DRAFT,
    KEEP_DRAFT,
    FAIL_PAYMENT,
    FAIL,
    ACCEPT_TARGET,
    DECLINE_TARGET,
    PUBLISH_SCHEDULED,
    PUBLISH,
    SCHEDULE_PUBLISH,
    CANCEL_SCHEDULE,
    MOVE_SCHEDULE,
    REJECT,
    RETRY,
    REFUND,
    TAKE_DOWN_LINK,
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
