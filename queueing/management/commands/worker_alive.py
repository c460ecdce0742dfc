"""Exit 0 when a worker of this host sent a heartbeat recently, else 1: the worker container's health check.

``python manage.py worker_alive`` looks for RQ workers registered from this machine's hostname (a
container's own, so each scaled copy checks itself) whose last heartbeat is within
``WORKER_HEARTBEAT_MAX_AGE_SECONDS``; ``--name`` checks one worker by the name given to
``rqworker --name`` instead. ``--queue`` may be repeated: each must have such a worker. A
``rqworker_pool --threads N`` process registers N workers from its host (one per thread), so it
passes while its threads beat (an idle one every 2 s, a busy one every 30 s from the pool's main
thread), and fails once the process is killed and their last beats grow old.
"""

from __future__ import annotations

import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from queueing.stats import live_workers_of_host


class Command(BaseCommand):
    help = "Exit 0 if a worker on this host (or --name) sent a heartbeat within WORKER_HEARTBEAT_MAX_AGE_SECONDS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name", default="", help="the worker's name (rqworker --name); default: any on this host"
        )
        parser.add_argument("--hostname", default="", help="default: this machine's hostname")
        parser.add_argument(
            "--queue", action="append", default=[], help="a queue it must listen on (repeatable)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hostname = options["hostname"] or socket.gethostname()
        try:
            workers = live_workers_of_host(hostname=hostname, name=options["name"] or None)
        except RedisError as exc:
            raise CommandError(f"Redis unreachable ({type(exc).__name__})") from exc
        if not workers:
            raise CommandError(f"no live worker on {options['name'] or hostname}")
        listened = {queue for worker in workers for queue in worker.queue_names()}
        missing = sorted(set(options["queue"]) - listened)
        if missing:
            raise CommandError(f"no live worker on {hostname} listens on {', '.join(missing)}")
        self.stdout.write(f"alive: {', '.join(sorted(w.name for w in workers))}")
