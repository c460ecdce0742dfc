"""The customer's read of one order (every status poll), as one SQL statement built once per process.

``Order.objects.select_related("article", "current_version").annotate(...).get(pk=…)`` returns the
same objects, but the ORM compiles its 73 columns and 5 annotations again on every call: about half
of a status poll's CPU (``bench/profile_web.py``). Here the statement is built from the models'
metadata once per thread and database connection; each read then only executes it and builds the
three objects with ``Model.from_db``, after the backend's and the fields' own converters, as the
ORM's compiler does. ``tests/purchases/test_order_read.py`` holds it equal to the ORM's read for
orders in every state, on every field, on the backend the tests run on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Expression, Field, Model
from django.db.models.expressions import RawSQL

from purchases.models import Order
from purchases.status_messages import status_view_annotations
from purchases.tokens import ENTERED_STATUS_AT, entered_status_at_subquery

# The relations read with the order (each a nullable foreign key of Order, LEFT JOINed).
RELATED = ("article", "current_version")

Converter = Callable[[Any, Expression, Any], Any]


def order_read_annotations() -> dict[str, RawSQL]:
    """What the read adds to the order's own fields: when it entered its status, how it arrived
    there, whether a payment is clearing (``status_view_annotations``)."""
    return {ENTERED_STATUS_AT: entered_status_at_subquery(), **status_view_annotations()}


@dataclass(frozen=True)
class _Part:
    """One model's columns in the statement, or one annotation (``model`` None)."""

    name: str  # "" for the order, the relation's name, or the annotation's name
    model: type[Model] | None
    attnames: tuple[str, ...]
    converters: tuple[
        tuple[int, tuple[Converter, ...], Expression], ...
    ]  # (column offset, converters, expression)
    width: int


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple[Any, ...]
    parts: tuple[_Part, ...]


def _converters(expression: Expression, connection: Any) -> tuple[Converter, ...]:
    return tuple(connection.ops.get_db_converters(expression)) + tuple(
        expression.get_db_converters(connection)
    )


def _model_part(name: str, model: type[Model], alias: str, connection: Any) -> tuple[_Part, list[str]]:
    quote = connection.ops.quote_name
    fields: Sequence[Field] = model._meta.concrete_fields
    columns = [f"{quote(alias)}.{quote(field.column)}" for field in fields]
    converters = []
    for offset, field in enumerate(fields):
        column = field.get_col(alias)
        found = _converters(column, connection)
        if found:
            converters.append((offset, found, column))
    part = _Part(
        name=name,
        model=model,
        attnames=tuple(field.attname for field in fields),
        converters=tuple(converters),
        width=len(fields),
    )
    return part, columns


def _plan(connection: Any) -> _Plan:
    quote = connection.ops.quote_name
    table = str(Order._meta.db_table)
    order_part, select = _model_part("", Order, table, connection)
    parts = [order_part]
    joins = []
    for name in RELATED:
        relation = Order._meta.get_field(name)
        related = relation.related_model
        assert isinstance(relation, Field) and isinstance(related, type) and issubclass(related, Model)
        alias = f"read_{name}"
        part, columns = _model_part(name, related, alias, connection)
        parts.append(part)
        select += columns
        joins.append(
            f"LEFT OUTER JOIN {quote(str(related._meta.db_table))} {quote(alias)} "
            f"ON {quote(alias)}.{quote(related._meta.pk.column)} = {quote(table)}.{quote(relation.column)}"
        )
    params: list[Any] = []
    for name, raw in order_read_annotations().items():
        select.append(raw.sql)
        params.extend(raw.params)
        parts.append(
            _Part(
                name=name,
                model=None,
                attnames=(name,),
                converters=((0, _converters(raw, connection), raw),),
                width=1,
            )
        )
    sql = (
        f"SELECT {', '.join(select)} FROM {quote(table)} {' '.join(joins)} "
        f"WHERE {quote(table)}.{quote(Order._meta.pk.column)} = %s"
    )
    return _Plan(sql=sql, params=tuple(params), parts=tuple(parts))


_plans = threading.local()  # per thread, as Django's connections are: {(alias, id(connection)): _Plan}


def _plan_for(connection: Any) -> _Plan:
    cache: dict[tuple[str, int], _Plan] = _plans.__dict__.setdefault("by_connection", {})
    key = (connection.alias, id(connection))
    plan = cache.get(key)
    if plan is None:
        plan = cache[key] = _plan(connection)
    return plan


def order_read(pk: Any) -> Order | None:
    """The order with primary key ``pk`` (a UUID), its article and current version, and
    ``order_read_annotations()`` as attributes; None when there is no such order. One statement."""
    alias = router.db_for_read(Order)
    connection = connections[alias]
    plan = _plan_for(connection)
    key = Order._meta.pk.get_db_prep_value(pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, (*plan.params, key))
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    order: Order | None = None
    start = 0
    for part in plan.parts:
        chunk = values[start : start + part.width]
        for offset, converters, expression in part.converters:
            value = chunk[offset]
            for converter in converters:
                value = converter(value, expression, connection)
            chunk[offset] = value
        start += part.width
        if order is None:
            order = Order.from_db(alias, list(part.attnames), chunk)
        elif part.model is not None:
            related = part.model
            found = (
                None
                if chunk[part.attnames.index(related._meta.pk.attname)] is None
                else related.from_db(alias, list(part.attnames), chunk)
            )
            relation = Order._meta.get_field(part.name)
            assert isinstance(relation, Field)
            relation.set_cached_value(order, found)  # type: ignore[attr-defined]
        else:
            setattr(order, part.name, chunk[0])
    return order
