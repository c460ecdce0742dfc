"""What a check is: a named condition that reports the findings active now.

An app writes its checks next to the data they read (``queueing.alerts`` for queues and workers,
``purchases.monitoring`` for orders) and the process that runs them hands the list to
``alerts.services.alerts_check``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One condition seen now. ``key`` names its incident (under the check's ``prefix``)."""

    key: str
    title: str  # the alert's subject: what is wrong, in a few words
    details: dict[str, Any] = field(default_factory=dict)  # JSON-able facts, shown to staff
    # Staff are told only once the condition has lasted this long (0: at once).
    hold_seconds: float = 0.0


@dataclass(frozen=True)
class Check:
    """``find(now)`` returns every finding active now. Open incidents whose key starts with
    ``prefix`` and that ``find`` no longer returns are resolved (recovery message). A ``find``
    that raises resolves nothing: the check's state is unknown, not clear."""

    name: str
    prefix: str
    find: Callable[[datetime], list[Finding]]
