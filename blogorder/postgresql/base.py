"""Django's PostgreSQL backend, with a kept connection's health check that usually costs nothing.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection before a request's first statement,
and its PostgreSQL backend does so with ``SELECT 1``: a round trip on every request, about a third
of the server's work for a status poll (README, "Performance (web)"). A connection the server
ended while it sat idle (a restart, a failover, ``pg_terminate_backend``, an idle timeout) has
already said so on its socket: the server sends its last error and closes, so the socket reads
as ready although no statement is running. So: an idle connection whose socket has nothing to read
is usable, with no round trip; when the socket has something to read, or the connection is not idle,
Django's ``SELECT 1`` decides, as before.

Not caught without a round trip, as ``SELECT 1`` would not catch it quickly either: a network that
drops packets without closing the connection; the request's first statement then waits for the
TCP time-outs.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


def has_input(fd: int) -> bool:
    """Whether the socket has something to read (data or its end) right now, without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == pq.TransactionStatus.IDLE and not has_input(
            connection.fileno()
        ):
            return True
        return bool(super().is_usable())
