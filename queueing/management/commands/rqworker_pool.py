"""``manage.py rqworker_pool QUEUE... --num-workers N`` or ``--threads N``: N jobs in flight from one
preloaded process.

``--num-workers N``: N RQ workers (``RQ["WORKER_CLASS"]``) forked from one process that loaded
everything first, so they and their work horses share it copy-on-write. Each worker is a
``queueing.worker.GracefulWorker`` (bounded warm shutdown with hand-back, a job timeout enforced by
its own work horse, the RQ scheduler) and takes one job at a time; a worker that dies is replaced.

``--threads N``: N RQ workers as threads of this one process (``queueing.threaded``): no fork per
job, one copy of everything, connections kept from job to job. For model-bound queues, where a job
mostly waits on the model; the trade-off (isolation, the GIL) is in README, "Worker set-ups".

Either way SIGTERM/SIGINT finishes the jobs in flight within ``WORKER_SHUTDOWN_GRACE_SECONDS``, or
hands them back past it (or on a second signal).

``--with-scheduler`` and ``--worker-ttl SECONDS`` mean what they mean to ``rqworker``: RQ's
scheduler for these queues (one process per pool, a lock per queue keeps one active everywhere),
and each worker's TTL (its key expires ``worker_ttl + 60`` s after its last heartbeat; default
``WORKER_TTL_SECONDS``). With ``--num-workers`` RQ's pool always runs the scheduler and its workers
take ``WORKER_TTL_SECONDS``, so ``--worker-ttl`` is refused there.
"""

from __future__ import annotations

from typing import Any

import django_rq
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_rq.workers import get_worker_class
from rq.worker_pool import WorkerPool

from queueing.threaded import ThreadedWorkerPool
from queueing.worker import worker_preload


class Command(BaseCommand):
    help = "Run N RQ workers from one preloaded process, forked (--num-workers) or as threads (--threads)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queues", nargs="+", help="the queues every worker listens on")
        parser.add_argument(
            "--num-workers", type=int, default=None, help="forked workers, i.e. jobs in flight"
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="workers as threads of this process, i.e. jobs in flight",
        )
        parser.add_argument("--burst", action="store_true", help="exit once the queues are empty")
        parser.add_argument(
            "--with-scheduler",
            action="store_true",
            help="run RQ's scheduler for these queues (retries with intervals, jobs enqueued at a time)",
        )
        parser.add_argument(
            "--worker-ttl",
            type=int,
            default=None,
            help="each worker's TTL in seconds (--threads only; default WORKER_TTL_SECONDS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        level = "DEBUG" if verbosity >= 2 else "WARNING" if verbosity == 0 else "INFO"
        if options["threads"] is not None and options["num_workers"] is not None:
            raise CommandError("choose --num-workers (forked workers) or --threads, not both")
        if options["worker_ttl"] is not None and options["worker_ttl"] < 1:
            raise CommandError("--worker-ttl must be at least 1")
        queues = [django_rq.get_queue(name) for name in options["queues"]]
        if options["threads"] is not None:
            if options["threads"] < 1:
                raise CommandError("--threads must be at least 1")
            ThreadedWorkerPool(
                queues,
                count=options["threads"],
                with_scheduler=options["with_scheduler"],
                worker_ttl=options["worker_ttl"],
            ).start(burst=options["burst"], logging_level=level)
            return
        if options["worker_ttl"] is not None:
            raise CommandError("--worker-ttl applies to --threads; forked workers take WORKER_TTL_SECONDS")
        worker_preload()  # before the workers are forked: they share it (and closes DB connections)
        pool = WorkerPool(
            queues=queues,
            connection=queues[0].connection,
            num_workers=options["num_workers"] or 1,
            worker_class=get_worker_class(),
        )
        pool.start(burst=options["burst"], logging_level=level)
