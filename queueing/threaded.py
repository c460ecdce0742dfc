"""N RQ workers as threads of one process (``manage.py rqworker_pool --threads N``): jobs in flight for
model-bound work without a forked process, and its memory, per job.

A backlink job spends nearly all its time waiting on the model's HTTP reply. RQ's ``Worker`` forks
a work horse per job, so N jobs in flight are N processes (~115 MB each on the bench); here N
``ThreadWorker`` threads share one interpreter, one copy of Django and the job modules, and keep
their database and Redis connections from job to job. What each still is, as RQ sees it:

* a real RQ worker registered in Redis (its own name, heartbeats, ``StartedJobRegistry`` entries),
  so dashboards, ``queue_stats`` and the reconciler see N workers exactly as with N ``rqworker``
  processes (RQ's stop-job command cannot stop a thread's job, as with RQ's ``SimpleWorker``);
* a job timeout enforced by ``TimerDeathPenalty`` (an exception raised in the job's thread: there
  is one ``SIGALRM`` per process, so signals cannot time threads);
* one Django database connection per thread (Django's connections are per thread), validated
  before and after every job (``close_old_connections``: kept while younger than
  ``CONN_MAX_AGE`` and healthy, else replaced), so a job never inherits a broken one;
* a heartbeat while a job runs, sent by the supervising main thread every
  ``job_monitoring_interval`` (the forked worker's parent does the same while its horse runs), so a
  long job is never taken for abandoned, and a killed process's jobs are (the reconciler, after
  ``RECONCILE_HEARTBEAT_GRACE_SECONDS``); an idle thread beats each time its 2 s wait for a job
  ends, and each worker's key lives ``worker_ttl + 60`` s after its last beat (``--worker-ttl``,
  default ``WORKER_TTL_SECONDS``), as with ``rqworker --worker-ttl``;
* with ``--with-scheduler``, RQ's scheduler for the process's queues: one per process, forked from
  the main thread before the worker threads start, as ``rqworker --with-scheduler`` forks one; a
  lock per queue keeps one active across every process and host.

Only the main thread handles signals (Python delivers them there). The first SIGTERM/SIGINT is a
warm shutdown: no thread takes a new job, each finishes the one it has within
``WORKER_SHUTDOWN_GRACE_SECONDS``; past the grace, or on a second signal, it is a cold shutdown:
every job still running is handed back at once (``queueing.reconcile.job_hand_back``, as
``GracefulWorker`` does after killing its horse) and the process exits, taking the threads (and
their open transactions, rolled back by PostgreSQL) with it. A thread whose worker loop ends by
itself (an unhandled error) is replaced.

The trade-off against ``rqworker`` / ``rqworker_pool --num-workers`` (README, "Worker set-ups"):
threads share one process, so a job that crashes the interpreter, leaks memory or spins the CPU
takes its neighbours with it, and CPU-bound jobs run one at a time under the GIL. Use threads for
model-bound queues (``backlink-integration``, ``article-generation``), forked workers where
isolation matters more than memory.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty
from rq.worker import BaseWorker, SimpleWorker, WorkerStatus

from queueing.worker import job_hand_back_interrupted, worker_preload

logger = logging.getLogger(__name__)

# How long an idle thread blocks on Redis for a job before it looks at its stop flag again (each
# turn also sends that worker's heartbeat, so an idle thread beats every 2 s whatever its TTL).
IDLE_POLL_SECONDS = 2
# How often the main thread checks that the scheduler (--with-scheduler) runs, or takes its locks.
SCHEDULER_CHECK_SECONDS = 60


class ColdShutdown(BaseException):
    """Raised by a job thread's next SQL statement once its process shuts down cold: from then on it
    commits nothing, so the job handed back is not also finished by the thread it was taken from."""


class ThreadWorker(SimpleWorker):
    """An RQ worker that runs its jobs in its own thread (no fork), one at a time."""

    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args: Any, cold: threading.Event | None = None, **kwargs: Any) -> None:
        kwargs["worker_ttl"] = kwargs.get("worker_ttl") or settings.WORKER_TTL_SECONDS
        super().__init__(*args, **kwargs)
        self.cold = cold or threading.Event()
        self.interrupted: list[str] = []  # jobs stopped by the cold shutdown, for the pool to hand back
        self.running: tuple[Job, Any] | None = None  # (job, execution) while a job runs
        self._running_lock = threading.Lock()

    def _install_signal_handlers(self) -> None:
        """Signals belong to the main thread (``ThreadedWorkerPool``); a thread may not install any."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # As the forking Worker: the next heartbeat (the pool's) is due within job_monitoring_interval.
        return BaseWorker.get_heartbeat_ttl(self, job, working_time)

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """Block for a job at most ``IDLE_POLL_SECONDS`` at a time, so a stop request is seen soon;
        None (the work loop ends) once a stop is requested."""
        if timeout is None:  # burst: RQ does not block
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while not self._stop_requested:
            result = super().dequeue_job_and_maintain_ttl(
                min(timeout, IDLE_POLL_SECONDS), max_idle_time=IDLE_POLL_SECONDS
            )
            if result is not None:
                return result
            close_old_connections()  # idle: its DB connection closes once CONN_MAX_AGE old
        return None

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        close_old_connections()  # this thread's DB connection: kept if healthy and young, else replaced
        with self._running_lock:
            self.running = (job, execution)
        try:
            with connection.execute_wrapper(self._unless_cold):
                self.perform_job(job, queue, execution)
        finally:
            with self._running_lock:
                self.running = None
            close_old_connections()
        self.set_state(WorkerStatus.IDLE)

    def _finalize_failure(self, job: Job, queue: Queue, execution: Any, exc_info: Any) -> None:
        """A job stopped by the cold shutdown is the pool's to hand back: RQ records no failure or retry."""
        if self.cold.is_set():
            self.interrupted.append(job.id)
            return
        super()._finalize_failure(job, queue, execution, exc_info)

    def _unless_cold(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.cold.is_set():
            raise ColdShutdown("the worker process is shutting down cold; this job was handed back")
        return execute(sql, params, many, context)

    def beat(self) -> None:
        """Called from the main thread: keep this worker, and the job it runs, alive in Redis."""
        with self._running_lock:
            running = self.running
        if running is not None:
            job, execution = running
            self.maintain_heartbeats(job, execution)


class ThreadedWorkerPool:
    """Runs ``count`` ``ThreadWorker`` threads on ``queues`` and supervises them from the main thread."""

    def __init__(
        self,
        queues: list[Queue],
        *,
        count: int,
        with_scheduler: bool = False,
        worker_ttl: int | None = None,
    ) -> None:
        self.queues = queues
        self.connection = queues[0].connection
        self.count = count
        self.with_scheduler = with_scheduler
        self.worker_ttl = worker_ttl  # None: WORKER_TTL_SECONDS
        self.workers: dict[str, tuple[ThreadWorker, threading.Thread]] = {}
        self.scheduler: RQScheduler | None = None
        self._stopping = False
        self._cold = threading.Event()  # the cold shutdown is due
        self._stop_jobs = threading.Event()  # the job threads' SQL now fails (ColdShutdown)
        self._grace_timer: threading.Timer | None = None
        self._burst = False
        self._logging_level = "INFO"

    # --- threads

    def _start_worker(self) -> None:
        worker = ThreadWorker(
            self.queues, connection=self.connection, cold=self._stop_jobs, worker_ttl=self.worker_ttl
        )
        thread = threading.Thread(target=self._run, args=(worker,), name=f"rq-{worker.name}", daemon=True)
        self.workers[worker.name] = (worker, thread)
        thread.start()

    def _run(self, worker: ThreadWorker) -> None:
        try:
            worker.work(burst=self._burst, logging_level=self._logging_level)
        except BaseException:  # a cold shutdown raises SystemExit in RQ's loop; anything else is logged
            logger.exception("worker thread ended", extra={"worker": worker.name})
        finally:
            close_old_connections()

    def _busy_jobs(self) -> list[tuple[ThreadWorker, str]]:
        busy = []
        for worker, _thread in self.workers.values():
            running = worker.running
            if running is not None:
                busy.append((worker, running[0].id))
        return busy

    # --- scheduler: one per process, as `rqworker --with-scheduler` (rq.worker.BaseWorker._start_scheduler)

    def _scheduler_tick(self) -> None:
        """Start RQ's scheduler for these queues once it holds their locks; called at start (before any
        thread exists, so the scheduler is forked from a single-threaded process) and then every
        ``SCHEDULER_CHECK_SECONDS``, which restarts a scheduler process that died, or takes over the
        locks of a queue whose scheduler elsewhere stopped (RQ's worker does the same in its
        maintenance tasks). A lock per queue keeps one scheduler active across all processes.
        In burst mode the due jobs are moved once, in this process, and the locks released."""
        if not self.with_scheduler or self._stopping:
            return
        if self.scheduler is None:
            self.scheduler = RQScheduler(
                self.queues,
                connection=self.connection,
                logging_level=self._logging_level,
                serializer=self.queues[0].serializer,
            )
        scheduler = self.scheduler
        process = scheduler._process
        if process is not None and process.is_alive():
            return
        scheduler.acquire_locks()
        if not scheduler.acquired_locks:
            return
        if self._burst:
            try:
                scheduler.register_birth()
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()
                scheduler.register_death()
        else:
            scheduler.start()

    def _stop_scheduler(self) -> None:
        """SIGTERM the scheduler process: it releases its locks and unregisters within its 1 s loop."""
        process = self.scheduler._process if self.scheduler is not None else None
        if process is not None and process.is_alive():
            process.terminate()
            process.join(5)

    # --- signals (main thread only)

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            self._cold.set()
            return
        self._stopping = True
        busy = self._busy_jobs()
        logger.info(
            "warm shutdown: finishing the jobs in flight",
            extra={
                "jobs": [job_id for _, job_id in busy],
                "grace_seconds": settings.WORKER_SHUTDOWN_GRACE_SECONDS,
            },
        )
        for worker, _thread in self.workers.values():
            worker._stop_requested = True
        if busy:
            self._grace_timer = threading.Timer(float(settings.WORKER_SHUTDOWN_GRACE_SECONDS), self._cold.set)
            self._grace_timer.daemon = True
            self._grace_timer.start()

    def _cold_shutdown(self) -> None:
        """Hand back every job still running, say the workers are gone, and exit with the threads.

        The job threads' SQL fails from now on (``ColdShutdown``): none commits anything more, and
        RQ records nothing for the jobs it stops (they stay "started" for the hand-back). The idle
        threads (told to stop at the warm shutdown) must be gone before the hand-back: one still
        blocked on Redis for a job would take the very job handed back.
        """
        busy = {job_id: worker for worker, job_id in self._busy_jobs()}
        self._stop_jobs.set()
        for worker, _thread in self.workers.values():
            worker._stop_requested = True
        deadline = time.monotonic() + IDLE_POLL_SECONDS + 1
        while time.monotonic() < deadline and any(
            thread.is_alive() and worker.running is None for worker, thread in self.workers.values()
        ):
            time.sleep(0.05)
        for worker, job_id in self._busy_jobs():
            busy.setdefault(job_id, worker)
        for worker, _thread in self.workers.values():
            for job_id in worker.interrupted:
                busy.setdefault(job_id, worker)
        for job_id, worker in busy.items():
            job_hand_back_interrupted(job_id=job_id, worker=worker.name)
        self._stop_scheduler()
        for worker, _thread in self.workers.values():
            try:
                worker.register_death()
            except Exception:
                logger.exception("could not unregister a worker", extra={"worker": worker.name})
        logger.warning("cold shutdown: jobs in flight handed back")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    # --- the main loop

    def start(self, *, burst: bool = False, logging_level: str = "INFO") -> None:
        """Run until every thread's worker loop ended (burst: the queues are empty) or a shutdown."""
        self._burst = burst
        self._logging_level = logging_level
        worker_preload()  # as a forked worker does; here it simply warms the one shared process
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        self._scheduler_tick()
        for _ in range(self.count):
            self._start_worker()
        interval = min(w.job_monitoring_interval for w, _ in self.workers.values())
        last_beat = time.monotonic()
        last_scheduler = time.monotonic()
        while True:
            if self._cold.wait(0.2):
                self._cold_shutdown()
            for name, (worker, thread) in list(self.workers.items()):
                if thread.is_alive():
                    continue
                del self.workers[name]
                if not self._stopping and not burst and not worker._stop_requested:
                    logger.warning("worker thread ended by itself: replacing it", extra={"worker": name})
                    self._start_worker()
            if not self.workers:
                break
            now = time.monotonic()
            if now - last_beat >= interval:
                last_beat = now
                for worker, _thread in list(self.workers.values()):
                    try:
                        worker.beat()
                    except Exception:
                        logger.exception("heartbeat failed", extra={"worker": worker.name})
            if now - last_scheduler >= SCHEDULER_CHECK_SECONDS:
                last_scheduler = now
                self._scheduler_tick()
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        self._stop_scheduler()
