"""What an order's runs spend on the model: tokens recorded per run as each reply arrives.

``MAX_TOKENS_PER_ORDER`` is judged on these rows (``RunSpend.objects.tokens_spent``): the
regenerate guard refuses once they reach it, and a run stops before a call that would pass it
(``purchases.services.draft_run``).
"""

from __future__ import annotations

from uuid import UUID

from django.db import connection
from django.utils import timezone

from articles.openai_api import LLMReply
from purchases.models import RunSpend

# The columns one reply adds to; ``llm_model`` and ``updated_at`` take the reply's.
_ADDED = ("prompt_tokens", "completion_tokens", "replies")


def run_spend_record(*, order_id: UUID | str, run: int, reply: LLMReply) -> None:
    """Add ``reply``'s tokens to run ``run`` of the order, at once and outside any run transaction.

    One statement, ``INSERT … ON CONFLICT (order_id, run) DO UPDATE`` adding to the row already
    there (PostgreSQL and SQLite alike): atomic, so concurrent tries of one run never lose a
    reply, with no lookup first and no transaction of its own. Replies that cost nothing (the
    offline writer) are not recorded.
    """
    if not reply.prompt_tokens and not reply.completion_tokens:
        return
    row = {
        "order": order_id,
        "run": run,
        "llm_model": reply.model[:100],
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "replies": 1,
        "updated_at": timezone.now(),
    }
    meta = RunSpend._meta
    field = {f.name: f for f in meta.concrete_fields}
    quote = connection.ops.quote_name
    table = quote(str(meta.db_table))
    column = {name: quote(str(field[name].column)) for name in row}
    added = (f"{column[name]} = {table}.{column[name]} + EXCLUDED.{column[name]}" for name in _ADDED)
    taken = (f"{column[name]} = EXCLUDED.{column[name]}" for name in ("llm_model", "updated_at"))
    sql = (
        f"INSERT INTO {table} ({', '.join(column.values())}) VALUES ({', '.join(['%s'] * len(row))}) "
        f"ON CONFLICT ({column['order']}, {column['run']}) DO UPDATE SET {', '.join((*added, *taken))}"
    )
    values = [field[name].get_db_prep_save(value, connection) for name, value in row.items()]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
