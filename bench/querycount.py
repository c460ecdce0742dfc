"""Counts the SQL statements of each request into the ``X-Bench-Queries`` header (bench settings only).

Django's ``execute_wrapper`` sees every statement the ORM or a cursor runs on the default database,
the transaction's own ``BEGIN``/``COMMIT``/savepoints included when Django issues them as SQL;
psycopg's implicit ``BEGIN`` and the connection's set-up on a new connection are not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse


@contextmanager
def statements_counted() -> Iterator[list[int]]:
    """``with statements_counted() as count:`` … ``count[0]`` is how many statements ran inside."""
    count = [0]

    def counted(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        yield count


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with statements_counted() as count:
            response = self.get_response(request)
        response["X-Bench-Queries"] = str(count[0])
        return response
