"""One-row ORM reads compiled once per thread and database connection (``CompiledRead``).

``Order.objects.select_related(...).annotate(...).get(pk=…)`` compiles its SQL again on every call:
the joined models' columns, the annotations, the converters. In the order job that is about 1 ms
of CPU for each of its larger reads, the same statement each time but for the ids. A
``CompiledRead`` builds the queryset once with stand-in values for its parameters, lets Django's
compiler write the statement, and keeps it with what Django's ``ModelIterable`` needs to build the
objects (columns, converters, ``select_related`` populators, annotation columns). Each read then
executes the statement with the real values and builds the objects with Django's own code, so
``get()`` returns what the queryset's ``.get()`` would: the same instances, relations and
annotations, ``DoesNotExist`` and ``MultipleObjectsReturned`` alike.

The stand-ins are unique values of each parameter's declared type (``UUID``, ``int``, ``str``,
``datetime``), found again in the compiled statement's parameters, as given or as the database
takes that type (SQLite's UUIDs as hex text, its datetimes as text: each value read is then
prepared the same way); a queryset that does not pass a parameter through (a lookup that
transforms its value) is refused when first compiled.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connections
from django.db.models import CharField, DateTimeField, Field, IntegerField, Model, QuerySet, UUIDField
from django.db.models.query import MAX_GET_RESULTS, get_related_populators
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
# Django 5.2 and 6.0: (klass_info, select, db); Django 6.1's field fetch modes add the queryset's
# fetch mode, which ``from_db`` then takes as well (``_fetch_mode`` on the queryset says which).
_related_populators: Callable[..., list[Any]] = get_related_populators


def _as_uuid(value: Any) -> uuid.UUID:
    """As ``UUIDField.to_python``: a value that is no UUID is a ``ValidationError``."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(**{"int" if isinstance(value, int) else "hex": value})
    except (AttributeError, ValueError) as exc:
        raise ValidationError(
            "“%(value)s” is not a valid UUID.", code="invalid", params={"value": value}
        ) from exc


def _as_datetime(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"a datetime parameter takes a datetime, not {value!r}")
    return value


def _int_stand_in() -> int:  # within int4, so no integer lookup treats it as out of range
    return -random.randint(1_000_000_000, 2_000_000_000)


def _datetime_stand_in() -> datetime:  # a moment no row holds, distinct to the microsecond
    return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=random.randint(1, 10**12))


@dataclass(frozen=True)
class _Kind:
    """A parameter type a read may declare."""

    coerce: Callable[[Any], Any]  # a caller's value made this type
    stand_in: Callable[[], Any]  # a unique value of it that no row holds
    # How a database takes it (``get_db_prep_value``): a stand-in found in the compiled parameters
    # in that form, not as given, means each value read is prepared the same way.
    field: Field[Any, Any]


KINDS: dict[type, _Kind] = {
    uuid.UUID: _Kind(_as_uuid, uuid.uuid4, UUIDField()),
    int: _Kind(int, _int_stand_in, IntegerField()),
    str: _Kind(str, lambda: f"compiled-read-{uuid.uuid4().hex}", CharField()),
    datetime: _Kind(_as_datetime, _datetime_stand_in, DateTimeField()),
}


def _coerce_and_store(kind: _Kind, connection: Any, value: Any) -> Any:
    return kind.field.get_db_prep_value(kind.coerce(value), connection)


@dataclass(frozen=True)
class _Plan:
    connection: Any
    sql: str
    params: tuple[Any, ...]
    # (parameter, its positions in params, how a caller's value is made what the statement takes)
    slots: tuple[tuple[str, tuple[int, ...], Callable[[Any], Any]], ...]
    compiler: Any
    converters: dict[int, Any]
    model_cls: type[Model]
    init_list: tuple[str, ...]
    model_fields: slice
    related_populators: tuple[Any, ...]
    annotation_col_map: Mapping[str, int]
    for_update: bool
    fetch_mode: dict[str, Any]  # {"fetch_mode": …} on Django 6.1 and later, else {}


class CompiledRead(Generic[M]):
    """``build(**params)`` (a queryset narrowed to one row) read with ``get(**values)``, compiled once.

    ``params`` names each of ``build``'s arguments with its type. Thread-safe as Django's
    connections are: each thread and connection has its own compiled statement.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], *, params: Mapping[str, type]) -> None:
        for kind in params.values():
            if kind not in KINDS:
                raise TypeError(f"a CompiledRead parameter is a UUID, int, str or datetime, not {kind!r}")
        self._build = build
        self._params = dict(params)
        self._local = threading.local()

    def get(self, **values: Any) -> M:
        """The one row's object, as ``build(**values).get()`` returns it (one statement)."""
        if set(values) != set(self._params):
            raise TypeError(f"expected the parameters {sorted(self._params)}, got {sorted(values)}")
        plan = self._plan()
        connection = plan.connection
        if plan.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(plan.params)
        for name, positions, prepare in plan.slots:
            value = prepare(values[name])
            for position in positions:
                params[position] = value
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if len(rows) != 1:
            model: Any = plan.model_cls
            if not rows:
                raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
            count = len(rows) if len(rows) < MAX_GET_RESULTS else f"more than {MAX_GET_RESULTS - 1}"
            raise model.MultipleObjectsReturned(
                f"get() returned more than one {model._meta.object_name} -- it returned {count}!"
            )
        row = rows[0]
        if plan.converters:
            row = next(iter(plan.compiler.apply_converters([row], plan.converters)))
        obj = plan.model_cls.from_db(
            connection.alias, list(plan.init_list), row[plan.model_fields], **plan.fetch_mode
        )
        for populator in plan.related_populators:
            populator.populate(row, obj)
        for attr_name, position in plan.annotation_col_map.items():
            setattr(obj, attr_name, row[position])
        return obj  # type: ignore[return-value]  # from_db of the queryset's model

    def get_or_none(self, **values: Any) -> M | None:
        """As ``get``, but None when there is no such row."""
        try:
            return self.get(**values)
        except ObjectDoesNotExist:  # the model's DoesNotExist: the only one ``get`` raises
            return None

    def _plan(self) -> _Plan:
        plan: _Plan | None = getattr(self._local, "plan", None)
        if plan is None or connections[plan.connection.alias] is not plan.connection:
            plan = self._local.plan = self._compile()
        return plan

    def _compile(self) -> _Plan:
        stand_ins = {name: KINDS[kind].stand_in() for name, kind in self._params.items()}
        queryset = self._build(**stand_ins)
        internals: Any = queryset  # what .get() would also do: prefetch, or fill a related manager's instance
        if internals._prefetch_related_lookups or internals._known_related_objects:
            raise ValueError("a CompiledRead neither prefetches nor reads through a related manager")
        if queryset.query.can_filter() and not queryset.query.distinct_fields:
            queryset = queryset.order_by()
        queryset.query.set_limits(high=MAX_GET_RESULTS)
        alias = queryset.db
        connection = connections[alias]
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = []
        for name, stand_in in stand_ins.items():
            kind = KINDS[self._params[name]]
            prepare = kind.coerce
            positions = tuple(i for i, value in enumerate(params) if value == stand_in)
            if not positions:  # as the database takes it: SQLite's UUIDs as hex, datetimes as text
                stored = kind.field.get_db_prep_value(stand_in, connection)
                positions = tuple(i for i, value in enumerate(params) if value == stored)
                prepare = partial(_coerce_and_store, kind, connection)
            if not positions:
                raise ValueError(
                    f"the compiled statement does not pass the parameter {name!r} through as given"
                )
            slots.append((name, positions, prepare))
        select, klass_info = compiler.select, compiler.klass_info
        fields = [column[0] for column in select[0 : compiler.col_count]]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        fetch_mode: dict[str, Any] = (
            {"fetch_mode": internals._fetch_mode} if hasattr(internals, "_fetch_mode") else {}
        )
        return _Plan(
            connection=connection,
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            compiler=compiler,
            converters=compiler.get_converters(fields),
            model_cls=klass_info["model"],
            init_list=tuple(column[0].target.attname for column in select[start:end]),
            model_fields=slice(start, end),
            related_populators=tuple(_related_populators(klass_info, select, alias, *fetch_mode.values())),
            annotation_col_map=dict(compiler.annotation_col_map or {}),
            for_update=bool(queryset.query.select_for_update),
            fetch_mode=fetch_mode,
        )
