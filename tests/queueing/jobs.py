"""A job function that knows nothing of orders, to show the queueing machinery is generic.

``remember`` appends its run to a Redis list; ``mode`` makes it fail for good or raise every time.
"""

from __future__ import annotations

import django_rq

from queueing.runtime import Progress, job_run_tracked


class GiveUp(Exception):
    """Asking again will not help."""


def ran_key(subject_id: str) -> str:
    return f"tests:ran:{subject_id}"


def failed_key(subject_id: str) -> str:
    return f"tests:failed:{subject_id}"


def remember(*, subject_id: str, run: int, mode: str = "ok") -> str:
    connection = django_rq.get_connection("maintenance")

    def work(progress: Progress) -> str:
        progress("working", 50, 1)
        connection.rpush(ran_key(subject_id), run)
        if mode == "give_up":
            raise GiveUp("not this one")
        if mode == "raise":
            raise RuntimeError("broken every time")
        return "done"

    def on_final_failure(exc: Exception) -> None:
        connection.rpush(failed_key(subject_id), type(exc).__name__)

    return job_run_tracked(work, final_errors=(GiveUp,), on_final_failure=on_final_failure)
