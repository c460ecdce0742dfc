"""Print queues, workers, orders by status and the last hour's job tries: a table, or ``--json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from purchases.monitoring import system_stats


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[str(h) for h in headers], *[["-" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _age(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def stats_text(stats: dict[str, Any]) -> str:
    out = [f"Queue stats at {stats['at']}", "", "Queues"]
    out += _table(
        (
            "queue",
            "depth",
            "oldest job",
            "workers alive",
            "busy",
            "started",
            "scheduled",
            "deferred",
            "finished",
            "failed",
        ),
        [
            (
                q["name"],
                q["depth"],
                _age(q["oldest_job_age_seconds"]),
                f"{q['workers_alive']}/{q['workers']}",
                q["busy_workers"],
                q["started"],
                q["scheduled"],
                q["deferred"],
                q["finished"],
                q["failed"],
            )
            for q in stats["queues"]
        ],
    )
    out += ["", "Workers"]
    if stats["workers"]:
        out += _table(
            ("name", "queues", "state", "alive", "last heartbeat", "current job"),
            [
                (
                    w["name"],
                    ",".join(w["queues"]),
                    w["state"],
                    "yes" if w["alive"] else "no",
                    w["last_heartbeat"],
                    w["current_job"],
                )
                for w in stats["workers"]
            ],
        )
    else:
        out.append("(no worker registered)")
    out += ["", "Orders by status"]
    out += _table(("status", "orders"), list(stats["orders_by_status"].items()))
    out += ["", "Last hour (job tries by queue)"]
    out += _table(
        ("queue", "finished", "failed", "waiting"),
        [(name, c["finished"], c["failed"], c["waiting"]) for name, c in stats["last_hour"].items()],
    )
    return "\n".join(out)


class Command(BaseCommand):
    help = (
        "Queues (depth, oldest job, workers, registries), workers, orders by status, last hour's job tries."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="One JSON object instead of tables.")

    def handle(self, *args: Any, **options: Any) -> None:
        stats = system_stats()
        self.stdout.write(json.dumps(stats, indent=2) if options["json"] else stats_text(stats))
