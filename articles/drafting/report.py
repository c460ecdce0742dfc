"""The QC report stored on each draft version (``ArticleVersion.qc_report``): one shape for every kind.

``{"passed", "writer", ["limits",] "attempts": [{"attempt", "ok", "failures", "checks", ...}], "checks"}``:
staff read it on the order page and tests read it; a kind adds its ``limits`` and its own
per-attempt fields (``Checked.details``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from articles.drafting.checks import Checked


def qc_report(
    attempts: Sequence[Checked[Any]], *, writer: str, limits: dict[str, Any] | None = None
) -> dict[str, Any]:
    last = attempts[-1] if attempts else None
    report: dict[str, Any] = {"passed": bool(last and last.ok), "writer": writer}
    if limits is not None:
        report["limits"] = limits
    report["attempts"] = [
        {"attempt": n, "ok": a.ok, "failures": a.failures, "checks": a.checks, **a.details}
        for n, a in enumerate(attempts, start=1)
    ]
    report["checks"] = last.checks if last else {}
    return report
