"""A circuit breaker shared by every worker on every host, its state in Redis.

Generic: it knows jobs and a service name, not what the service is. The app that runs the jobs
builds one per service (``CircuitBreaker(name=..., threshold=..., cooldown_seconds=...)``) with
its own ``on_open`` / ``on_close`` hooks, and hands it to ``queueing.runtime.Waiting``.

- Closed: calls go through; ``threshold`` transient errors in a row (across all workers) open it.
- Open: no call for ``cooldown_seconds``; then one job at a time (the probe, a lock in Redis) may
  call. A probe that fails opens it for another cool-down; any call that succeeds closes it.
- Jobs that wait are kept in a Redis set; closing moves each of them that is still scheduled to
  "due now", so RQ's scheduler runs them within a second instead of after their back-off.
- One held job is the designated prober: it is scheduled for the end of the cool-down rather than
  its back-off, so a probe runs at least once a cool-down while the service is down.

So an outage costs at most ``threshold`` calls, plus the calls already in flight when it opened
(fewer than the workers), plus one probe per cool-down, whatever the number of jobs waiting.
Each transition is made by one atomic Redis step (``SET NX``, ``DEL``'s count), so each hook runs
once per opening and once per closing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from queueing.connections import rq_connection

logger = logging.getLogger(__name__)

KEY_PREFIX = "blogorder:breaker"
# How long a probe may hold the probe lock before another job may probe (a crashed prober).
PROBE_LOCK_SECONDS = 300


class CircuitOpen(Exception):
    """The breaker of the service is open: the job did not call it and waits."""


def _no_hook() -> None:
    return None


@dataclass(frozen=True)
class CircuitBreaker:
    """One service's breaker; cheap to build, its state lives in Redis under ``name``."""

    name: str
    threshold: int
    cooldown_seconds: float
    # The RQ queue whose Redis connection holds the state (every queue shares the app's one Redis).
    connection_queue: str
    on_open: Callable[[], None] = _no_hook
    on_close: Callable[[], None] = _no_hook
    _now: Callable[[], float] = field(default=time.time, repr=False)

    # --- keys and connection

    def _key(self, part: str) -> str:
        return f"{KEY_PREFIX}:{self.name}:{part}"

    @property
    def redis(self) -> Redis:
        return rq_connection(self.connection_queue)  # the process's client: no new connection per call

    # --- reads

    def is_open(self) -> bool:
        return bool(self.redis.exists(self._key("open")))

    def seconds_until_probe(self) -> float:
        """How long until a probe may call (0 when closed or due)."""
        due = self.redis.get(self._key("probe_after"))
        return max(0.0, float(due) - self._now()) if due is not None else 0.0

    # --- the gate

    def allow(self, *, job_id: str) -> bool:
        """May this job call the service now? Closed: yes. Open: only the one probe, after the cool-down."""
        redis = self.redis
        if not redis.exists(self._key("open")):
            return True
        if self.seconds_until_probe() > 0:
            return False
        if redis.set(self._key("probe"), job_id, nx=True, ex=PROBE_LOCK_SECONDS):
            logger.info("breaker probe", extra={"breaker": self.name, "job_id": job_id})
            return True
        return _text(redis.get(self._key("probe"))) == job_id

    # --- verdicts

    def record_failure(self, *, job_id: str) -> None:
        """A transient error. Closed: one more in a row, opening at ``threshold``. Open: a failed probe
        starts a new cool-down (other calls that were in flight when it opened change nothing)."""
        redis = self.redis
        if redis.exists(self._key("open")):
            if _text(redis.get(self._key("probe"))) == job_id:
                redis.set(self._key("probe_after"), self._now() + self.cooldown_seconds)
                redis.delete(self._key("probe"))
                logger.info("breaker probe failed", extra={"breaker": self.name, "job_id": job_id})
            return
        failures = int(redis.incr(self._key("failures")))
        if failures < self.threshold:
            return
        # Cool-down first, so no job sees it open without one.
        redis.set(self._key("probe_after"), self._now() + self.cooldown_seconds)
        if redis.set(self._key("open"), self._now(), nx=True):
            logger.warning("breaker opened", extra={"breaker": self.name, "failures": failures})
            _run_hook(self.on_open, self.name, "open")

    def record_success(self, *, job_id: str) -> None:
        """The service answered: the run of errors ends; an open breaker closes and its jobs go now."""
        redis = self.redis
        with redis.pipeline(transaction=False) as pipe:  # one round trip, as every job that succeeds
            pipe.set(self._key("failures"), 0)
            pipe.delete(self._key("open"))
            _, closed = pipe.execute()
        if closed:
            redis.delete(self._key("probe"), self._key("probe_after"), self._key("prober"))
            logger.warning("breaker closed", extra={"breaker": self.name, "job_id": job_id})
            released = self.release_held()
            _run_hook(self.on_close, self.name, "close")
            logger.info("breaker released held jobs", extra={"breaker": self.name, "released": released})

    def release_probe(self, *, job_id: str) -> None:
        """The job ended without a verdict (it made no call): let another job probe."""
        redis = self.redis
        if _text(redis.get(self._key("probe"))) == job_id:
            redis.delete(self._key("probe"))

    # --- held jobs

    def hold(self, *, job: Job) -> float | None:
        """Keep ``job`` (about to be scheduled again) to be released on closing.

        Returns the delay until the end of the cool-down when this job is the designated prober
        (the first to be held while none is), else None (the job keeps its own back-off).
        """
        redis = self.redis
        redis.sadd(self._key("held"), f"{job.origin}\t{job.id}")
        if not redis.exists(self._key("open")):
            return None
        ttl = int(self.cooldown_seconds) + 60
        prober = self._key("prober")
        if redis.set(prober, job.id, nx=True, ex=ttl) or _text(redis.get(prober)) == job.id:
            redis.expire(prober, ttl)
            return self.seconds_until_probe() + 0.5
        return None

    def release_held(self) -> int:
        """Make every held job that is still scheduled due now (RQ's scheduler enqueues it within a
        second). Returns how many were released. Jobs finished or cancelled meanwhile are dropped."""
        redis = self.redis
        with redis.pipeline(transaction=True) as pipe:
            pipe.smembers(self._key("held"))
            pipe.delete(self._key("held"))
            members, _ = pipe.execute()
        released = 0
        for member in members:
            queue_name, _, job_id = _text(member).partition("\t")
            try:
                job = Job.fetch(job_id, connection=redis)
                if job.get_status() != JobStatus.SCHEDULED:
                    continue
                registry = ScheduledJobRegistry(queue_name, connection=redis)
                # XX: only a job still in the registry; one the scheduler took meanwhile is not put back.
                released += int(redis.zadd(registry.key, {job_id: self._now() - 1}, xx=True, ch=True) or 0)
            except Exception:
                logger.warning("held job not released", extra={"breaker": self.name, "job_id": job_id})
        return released

    def release_for_probe(self) -> int:
        """Open, cool-down over and no probe under way: make the held jobs due now, so one of them
        probes (the rest find it still open and wait again, making no call). Run every minute
        (``blogorder/cron.py``), it keeps a probe coming at least once a minute even when the job
        meant to probe is gone (cancelled by a refund, say). Returns how many were released."""
        redis = self.redis
        if not redis.exists(self._key("open")) or self.seconds_until_probe() > 0:
            return 0
        if redis.exists(self._key("probe")):
            return 0
        redis.delete(self._key("prober"))
        return self.release_held()

    def reset(self) -> None:
        """Forget all state (tests, or an operator starting afresh)."""
        parts = ("open", "failures", "probe", "probe_after", "prober", "held")
        self.redis.delete(*(self._key(part) for part in parts))


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def _run_hook(hook: Callable[[], None], name: str, what: str) -> None:
    try:
        hook()
    except Exception:
        logger.exception("breaker hook failed", extra={"breaker": name, "hook": what})
