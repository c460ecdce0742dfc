"""Statements the ORM has no one call for."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Field, Model


def insert_unless_conflict(record: Model, *, fields: Sequence[Field], conflict: Sequence[str]) -> bool:
    """Insert ``record``'s ``fields`` unless a row with the same ``conflict`` columns exists: one statement.

    ``INSERT … ON CONFLICT (…) DO NOTHING RETURNING pk`` waits, as the unique index does, for a
    concurrent insert of the same key to commit (then it inserts nothing) or roll back (then it
    inserts); unlike ``get_or_create`` or catching the IntegrityError it needs no lookup and no
    savepoint. True when inserted (``record`` then has its pk and counts as saved), else False.
    """
    meta = record._meta
    quote = connection.ops.quote_name
    by_name = {field.name: field for field in meta.concrete_fields}
    conflict_columns = [quote(str(by_name[name].column)) for name in conflict]
    sql = (
        f"INSERT INTO {quote(str(meta.db_table))} ({', '.join(quote(str(f.column)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({', '.join(conflict_columns)}) DO NOTHING "
        f"RETURNING {quote(str(meta.pk.column))}"
    )
    values = [field.get_db_prep_save(field.pre_save(record, add=True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    record.pk = row[0]
    record._state.adding, record._state.db = False, connection.alias
    return True
