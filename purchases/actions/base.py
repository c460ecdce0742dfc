"""The order action base: who may act, the two-tier guard, and the service that performs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ImproperlyConfigured

from purchases.errors import ActionNotAllowed, ApplicationError
from purchases.models import ALLOWED_TRANSITIONS, CUSTOMER_STATES, Order, statuses_into
from queueing.selectors import job_request_open_exists

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
    # Refusal in any other status. ``{status}`` is replaced by the order's internal status (staff and
    # system actions only); ``{state}`` by what it means to the customer (``CUSTOMER_STATES``), which
    # is what customer actions say: their refusals are the API's messages.
    refused: ClassVar[str] = "That is not possible now; right now {state}."
    error: ClassVar[type[ApplicationError]] = ActionNotAllowed
    # Staff actions that ask for a reason (emailed to the customer, kept in the timeline).
    needs_reason: ClassVar[bool] = False
    # Staff actions that ask for a date and time (scheduling): never a bulk action without one.
    needs_when: ClassVar[bool] = False
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
        return self.error(self.refused.format(status=order.status, state=CUSTOMER_STATES[order.status]))

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


def open_run_refusal(order: Order) -> ApplicationError | None:
    """Refuses while a run of the order may still write a draft (regenerate, retry)."""
    if job_request_open_exists(subject_id=order.id):
        return ActionNotAllowed("A draft is already being written for this order.")
    return None


def article_unpublished_refusal(order: Order) -> ApplicationError | None:
    """Refuses while staff have taken the order's article off the site (publish, regenerate, retry):
    there is no published text to write on or publish into until it is published back."""
    article = order.article
    if article is not None and article.is_unpublished:
        return ActionNotAllowed(
            f"“{article.title}” is unpublished for now; this can be done once it is published back."
        )
    return None
