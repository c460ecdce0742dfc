"""The customer's read of one order (every status poll), as one SQL statement compiled once.

``Order.objects.select_related("article", "current_version").annotate(...).get(pk=…)`` returns the
same objects, but the ORM compiles its 73 columns and 5 annotations again on every call: about half
of a status poll's CPU (``bench/profile_web.py``). Here it is a ``CompiledRead``
(``blogorder.compiled_reads``): Django compiles that queryset once per thread and database
connection, and each read only executes the statement and builds the three objects with Django's
own code. ``tests/purchases/test_order_read.py`` holds it equal to the ORM's read for orders in
every state, on every field, on the backend the tests run on.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from blogorder.compiled_reads import CompiledRead
from purchases.models import Order
from purchases.status_messages import status_view_annotations
from purchases.tokens import ENTERED_STATUS_AT, entered_status_at_subquery

# The relations read with the order (each a nullable foreign key of Order, LEFT JOINed).
RELATED = ("article", "current_version")


def order_read_annotations() -> dict[str, RawSQL]:
    """What the read adds to the order's own fields: when it entered its status, how it arrived
    there, whether a payment is clearing (``status_view_annotations``)."""
    return {ENTERED_STATUS_AT: entered_status_at_subquery(), **status_view_annotations()}


def _orders_read(pk: UUID) -> QuerySet[Order]:
    return Order.objects.select_related(*RELATED).annotate(**order_read_annotations()).filter(pk=pk)


_ORDER_READ = CompiledRead(_orders_read, params={"pk": UUID})


def order_read(pk: Any) -> Order | None:
    """The order with primary key ``pk`` (a UUID), its article and current version, and
    ``order_read_annotations()`` as attributes; None when there is no such order. One statement."""
    return _ORDER_READ.get_or_none(pk=pk)
