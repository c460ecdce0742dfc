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
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from django.conf import settings
from rq import Worker
from rq.job import Job
from rq.queue import Queue

from queueing.reconcile import job_hand_back

logger = logging.getLogger(__name__)


class GracefulWorker(Worker):
    """``rq.Worker`` whose warm shutdown lasts at most ``WORKER_SHUTDOWN_GRACE_SECONDS``."""

    _grace_timer: threading.Timer | None = None

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
        try:
            job_hand_back(
                job_id=job_id,
                worker=self.name,
                reason="interrupted: the worker shut down before the job finished; handed back to run again",
            )
        except Exception:  # the reconciler puts it back after the heartbeat grace instead
            logger.exception("could not hand the job back", extra={"job_id": job_id, "worker": self.name})
