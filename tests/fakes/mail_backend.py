"""A Django email backend standing in for the mail provider (the mail boundary, like the fake servers).

It keeps messages in ``django.core.mail.outbox`` as the locmem backend does, and for each call
notes whether the sending thread had a database transaction open. ``FAKE_MAIL`` lets a test hold
the next send at the provider (a slow provider) or make it fail. Select it with
``settings.EMAIL_BACKEND = "tests.fakes.mail_backend.RecordingEmailBackend"`` (the ``fake_mail``
fixture does).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection


@dataclass(frozen=True)
class Send:
    subjects: list[str]
    in_transaction: bool


@dataclass
class FakeMailProvider:
    sends: list[Send] = field(default_factory=list)
    sending: threading.Event = field(default_factory=threading.Event)
    _gate: threading.Event = field(default_factory=threading.Event)
    _hold_pending: bool = False
    _fail: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.release()
        self._hold_pending = False
        self._fail = ""
        self.sends.clear()
        self.sending.clear()

    def hold_next(self) -> None:
        """The next send waits at the provider until ``release()``; ``sending`` is set when it arrives."""
        self._gate = threading.Event()
        self._hold_pending = True

    def release(self) -> None:
        self._gate.set()

    def fail_next(self, message: str) -> None:
        self._fail = message

    def arrive(self) -> None:
        with self._lock:
            held, self._hold_pending = self._hold_pending, False
            fail, self._fail = self._fail, ""
        self.sending.set()
        if held:
            self._gate.wait(timeout=30)
        if fail:
            raise ConnectionError(fail)


FAKE_MAIL = FakeMailProvider()


def _in_transaction() -> bool:
    """Whether this thread's connection has a transaction open, by Django's account and the server's."""
    if connection.in_atomic_block or not connection.get_autocommit():
        return True
    raw: Any = connection.connection
    if connection.vendor == "postgresql" and raw is not None:
        from psycopg.pq import TransactionStatus

        return bool(raw.info.transaction_status != TransactionStatus.IDLE)
    return False


class RecordingEmailBackend(EmailBackend):
    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        FAKE_MAIL.sends.append(Send([str(m.subject) for m in messages], _in_transaction()))
        FAKE_MAIL.arrive()
        return int(super().send_messages(messages))
