"""The RQ worker class of ``manage.py rqworker`` (``RQ["WORKER_CLASS"]``): a bounded warm shutdown.

RQ's own worker stops on the first SIGTERM/SIGINT after its current job (warm shutdown), however
long that job runs, and on a second signal kills the work horse and exits (cold shutdown),
leaving the job "started" in Redis until the reconciler sees its heartbeat stop. This one:

* gives the job in flight ``WORKER_SHUTDOWN_GRACE_SECONDS`` to finish after the first signal;
  past that it shuts down cold by itself;
* on a cold shutdown (that timer, or a second signal) kills the work horse and hands its job back
  at once (``queueing.reconcile.job_hand_back``): the attempt is closed as "interrupted" and the
  job is queued again under the same id, so another worker runs it from the start.

Compose's ``stop_grace_period`` for workers is a little longer than the grace, so Docker's SIGKILL
never comes before the hand-back (README, "Shutdown").

It also loads, once and before any work horse is forked, what every job would otherwise load
again in its own short-lived horse (``worker_preload``): the job modules and what they import
(``WORKER_PRELOAD_MODULES``), Django's URL resolver and the compiled templates under
``WORKER_PRELOAD_TEMPLATE_DIRS``. The horses share those pages copy-on-write with their worker
(``gc.freeze`` keeps the collector from writing to them), so a job starts in a few milliseconds
and each horse costs little memory (README, "Performance").
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import connections
from django.template import engines
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils.module_loading import import_string
from rq import Worker
from rq.job import Job
from rq.queue import Queue

from queueing.reconcile import job_hand_back

logger = logging.getLogger(__name__)


def worker_preload() -> None:
    """Load in this process what jobs need, so the work horses forked from it start warm.

    Imports ``WORKER_PRELOAD_MODULES``, calls ``WORKER_PRELOAD_CALLS`` (e.g. the model client's
    TLS context, 25 ms of CPU to build), builds the URL resolver (emails link to pages), compiles
    every template under ``WORKER_PRELOAD_TEMPLATE_DIRS`` (the cached loader keeps them), closes
    any database connection opened meanwhile (a forked horse must never share it) and freezes
    what is loaded so far out of the garbage collector's reach (its passes would otherwise write
    to, and so copy, every shared page in each horse).
    """
    for module in settings.WORKER_PRELOAD_MODULES:
        importlib.import_module(module)
    for dotted in settings.WORKER_PRELOAD_CALLS:
        import_string(dotted)()
    get_resolver().reverse_dict  # noqa: B018 -- populates the resolver
    for engine in engines.all():
        for directory in getattr(engine, "template_dirs", ()):
            for prefix in settings.WORKER_PRELOAD_TEMPLATE_DIRS:
                root = Path(directory)
                for path in sorted((root / prefix).rglob("*")):
                    if path.is_file():
                        get_template(str(path.relative_to(root)), using=engine.name)
    connections.close_all()
    gc.collect()
    gc.freeze()


class GracefulWorker(Worker):
    """``rq.Worker`` whose warm shutdown lasts at most ``WORKER_SHUTDOWN_GRACE_SECONDS``, and whose
    work horses start warm (``worker_preload`` runs when it is created, before any fork)."""

    _grace_timer: threading.Timer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # `rqworker --worker-ttl` passes its own; `rqworker_pool` has no such option.
        kwargs["worker_ttl"] = kwargs.get("worker_ttl") or settings.WORKER_TTL_SECONDS
        super().__init__(*args, **kwargs)
        worker_preload()

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """First SIGTERM/SIGINT: finish the current job, but shut down cold once the grace is over."""
        busy_job_id = self.get_current_job_id() if self.horse_pid else None
        if busy_job_id is not None:
            grace = float(settings.WORKER_SHUTDOWN_GRACE_SECONDS)
            logger.info(
                "warm shutdown: finishing the current job",
                extra={"job_id": busy_job_id, "worker": self.name, "grace_seconds": grace},
            )
            self._grace_timer = threading.Timer(grace, self._grace_over)
            self._grace_timer.daemon = True
            self._grace_timer.start()
        super().request_stop(signum, frame)

    def _grace_over(self) -> None:
        """Runs on the timer's thread: the job is still running, so signal ourselves a second time."""
        if self.horse_pid:
            os.kill(os.getpid(), signal.SIGTERM)

    def execute_job(self, job: Job, queue: Queue) -> None:
        super().execute_job(job, queue)
        if self._grace_timer is not None:
            self._grace_timer.cancel()  # the job finished within the grace

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """Cold shutdown: RQ kills the work horse and exits; its job is handed back before that."""
        job_id = self.get_current_job_id() if self.horse_pid else None
        # Stop RQ's horse-monitor alarm: it would interrupt the hand-back below.
        signal.alarm(0)
        try:
            super().request_force_stop(signum, frame)
        except SystemExit:
            if job_id is not None and not self.horse_pid_alive():
                self._hand_back(job_id)
            raise

    def horse_pid_alive(self) -> bool:
        """Whether the work horse still runs (RQ waited for it, so normally it does not)."""
        if not self.horse_pid:
            return False
        try:
            os.kill(self.horse_pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _hand_back(self, job_id: str) -> None:
        job_hand_back_interrupted(job_id=job_id, worker=self.name)


def job_hand_back_interrupted(*, job_id: str, worker: str) -> None:
    """Hand back a job its stopping worker interrupted (``job_hand_back``); errors are logged, not raised."""
    try:
        job_hand_back(
            job_id=job_id,
            worker=worker,
            reason="interrupted: the worker shut down before the job finished; handed back to run again",
        )
    except Exception:  # the reconciler puts it back after the heartbeat grace instead
        logger.exception("could not hand the job back", extra={"job_id": job_id, "worker": worker})
