"""``manage.py rqworker_pool QUEUE... --num-workers N``: N RQ workers (``RQ["WORKER_CLASS"]``) forked
from one process that loaded everything first, so they and their work horses share it copy-on-write.

Each worker is a ``queueing.worker.GracefulWorker`` (bounded warm shutdown with hand-back, a job
timeout enforced by its own work horse, the RQ scheduler) and takes one job at a time: N workers
are N jobs in flight, at a fraction of N separate ``rqworker`` processes' memory (README,
"Performance"). SIGTERM/SIGINT to this process is passed to every worker (each finishes its job
within the grace, or hands it back); a worker that dies is replaced.
"""

from __future__ import annotations

from typing import Any

import django_rq
from django.core.management.base import BaseCommand, CommandParser
from django_rq.workers import get_worker_class
from rq.worker_pool import WorkerPool

from queueing.worker import worker_preload


class Command(BaseCommand):
    help = "Run N RQ workers forked from one preloaded process (jobs in flight = N)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queues", nargs="+", help="the queues every worker listens on")
        parser.add_argument("--num-workers", type=int, default=1, help="workers, i.e. jobs in flight")
        parser.add_argument("--burst", action="store_true", help="exit once the queues are empty")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        level = "DEBUG" if verbosity >= 2 else "WARNING" if verbosity == 0 else "INFO"
        queues = [django_rq.get_queue(name) for name in options["queues"]]
        worker_preload()  # before the workers are forked: they share it (and closes DB connections)
        pool = WorkerPool(
            queues=queues,
            connection=queues[0].connection,
            num_workers=options["num_workers"],
            worker_class=get_worker_class(),
        )
        pool.start(burst=options["burst"], logging_level=level)
