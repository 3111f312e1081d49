"""The cron scheduler of many copies: one leader through a Redis lease, and each tick claimed once.

Any number of `companion scheduler` processes may run. RQ's `CronScheduler` enqueues every due job from
every process that runs it, so two schedulers would reconcile twice. Here each process competes for one
lease (`LEADER_KEY`, SET NX with a TTL, renewed every `RENEW_SECONDS`, well inside `LEASE_SECONDS`); only
the holder enqueues. The others poll and take over within about LEASE_SECONDS when the holder dies (at
once when it stops cleanly: it deletes the lease).

Leadership alone cannot promise "once per tick": a leader paused past its lease (GC, a stopped VM) may
wake up and enqueue beside its successor, and a successor does not know which tick the dead leader did
last. So every enqueue also claims its tick (`companion:cron:tick:<job>:<scheduled time>`, SET NX) and
only the claimer enqueues: ticks are identified by their scheduled time, which every scheduler computes
alike (cron jobs by their cron expression, interval jobs by aligned slots of their interval). A new
leader looks back `CATCH_UP_SECONDS` so the tick its predecessor died before enqueueing still runs,
once, late; several ticks missed in one gap run as one (reconcile and sweep catch up by themselves).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested

from sync.redis_conn import get_bytes, sync_reply
from sync.telemetry import CRON_TICKS

log = logging.getLogger(__name__)

LEADER_KEY = "companion:scheduler:leader"
LEASE_SECONDS = 10.0
# A fifth of the lease: four renewals may fail (a slow Redis) before another process can take over.
RENEW_SECONDS = 2.0
# A follower checks this often whether the lease is free; takeover after a crash ≤ LEASE + POLL.
POLL_SECONDS = 1.0
# How far a new leader looks back for a tick its predecessor may have missed (≥ a lease plus a renewal).
CATCH_UP_SECONDS = 2 * LEASE_SECONDS
TICK_KEY_TTL = 86_400
_REDIS_DOWN = (redis.RedisError, OSError)


# Renew only if we still hold it; release only if we still hold it (compare-and-set in one round trip).
_RENEW = """if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0"""
_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0"""


class Lease:
    """A Redis lease held under an owner value unique to this process."""

    def __init__(self, connection: redis.Redis, key: str = LEADER_KEY, ttl: float = LEASE_SECONDS,
                 name: str | None = None) -> None:
        self.connection, self.key, self.ttl = connection, key, ttl
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.value = json.dumps({"name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                                 "since": datetime.now(UTC).isoformat().replace("+00:00", "Z")})

    def hold(self) -> bool:
        """Renew the lease if this process holds it, else try to take it; True while we hold it."""
        ttl_ms = int(self.ttl * 1000)
        if sync_reply(self.connection.eval(_RENEW, 1, self.key, self.value, str(ttl_ms))):
            return True
        return bool(self.connection.set(self.key, self.value, nx=True, px=ttl_ms))

    def release(self) -> None:
        """Give the lease up at once (a clean stop), so a follower need not wait for it to expire."""
        self.connection.eval(_RELEASE, 1, self.key, self.value)


def current_leader(connection: redis.Redis) -> dict[str, Any] | None:
    """Who holds the scheduler lease now (name, host, pid, since, ttl_seconds), or None."""
    raw = get_bytes(connection, LEADER_KEY)
    if raw is None:
        return None
    holder: dict[str, Any] = json.loads(raw)
    holder["ttl_seconds"] = round(sync_reply(connection.pttl(LEADER_KEY)) / 1000, 3)
    return holder


def scheduler_status(connection: redis.Redis | None) -> dict[str, Any]:
    """The leader as the admin API shows it: `{"leader": {...} | null, "lease_seconds"}` (null too when
    Redis does not answer: then no scheduler can enqueue either)."""
    try:
        leader = current_leader(connection) if connection is not None else None
    except _REDIS_DOWN:
        leader = None
    return {"leader": leader, "lease_seconds": LEASE_SECONDS}


def tick_of(job: CronJob, moment: datetime) -> datetime:
    """The scheduled time of the tick `job` runs for at `moment`: what every scheduler agrees on."""
    if job.cron:
        return job.next_enqueue_time or moment
    interval = job.interval or 1
    return datetime.fromtimestamp(moment.timestamp() // interval * interval, UTC)


class LeadingCronScheduler(CronScheduler):
    """RQ's cron scheduler that enqueues only while it holds the lease, and each tick only once."""

    def __init__(self, connection: redis.Redis, lease: Lease | None = None, **kwargs: Any) -> None:
        super().__init__(connection=connection, **kwargs)
        self.lease = lease or Lease(connection, name=self.name)
        self.leading = False

    def enqueue_jobs(self) -> list[CronJob]:
        """Enqueue the due jobs whose tick nobody claimed yet (called only while leading)."""
        enqueued: list[CronJob] = []
        moment = datetime.now(UTC)
        for job in self._cron_jobs:
            if not job.should_run():
                continue
            tick = tick_of(job, moment)
            claim = f"companion:cron:tick:{job.name}:{tick.isoformat()}"
            if self.connection.set(claim, self.name, nx=True, ex=TICK_KEY_TTL):
                job.job_options["meta"] = {"cron_tick": tick.isoformat().replace("+00:00", "Z"),
                                           "scheduler": self.name}
                job.enqueue(self.connection)
                CRON_TICKS.labels(job=job.name.rsplit(".", 1)[-1]).inc()
                enqueued.append(job)
            job.set_enqueue_time(moment)
        return enqueued

    def _take_over(self) -> None:
        """Just became leader: restart every schedule a little in the past (see CATCH_UP_SECONDS)."""
        since = datetime.now(UTC) - timedelta(seconds=CATCH_UP_SECONDS)
        for job in self._cron_jobs:
            job.latest_enqueue_time = since if job.cron else None
            job.next_enqueue_time = job.get_next_enqueue_time() if job.cron else None
        log.info("scheduler %s leads now", self.name)

    def step(self) -> float:
        """One round: hold or seek the lease, enqueue what is due if leading; returns seconds to sleep."""
        try:
            holds = self.lease.hold()
        except _REDIS_DOWN as exc:
            if self.leading:
                log.warning("scheduler %s: Redis unavailable, leadership dropped: %s", self.name, exc)
            self.leading = False
            return POLL_SECONDS * 2
        if holds and not self.leading:
            self._take_over()
        elif self.leading and not holds:
            log.warning("scheduler %s lost the lease; following", self.name)
        self.leading = holds
        if not holds:
            return POLL_SECONDS
        try:
            if self.enqueue_jobs():
                self.save()
            self.heartbeat()
        except _REDIS_DOWN as exc:
            log.warning("scheduler %s: Redis unavailable while enqueueing: %s", self.name, exc)
            return POLL_SECONDS
        return min(RENEW_SECONDS, self.calculate_sleep_interval())

    def start(self) -> None:
        """Run until SIGTERM/SIGINT; release the lease on the way out."""
        self.log.info("scheduler %s: starting (lease %s, %.0f s)", self.name, LEADER_KEY, LEASE_SECONDS)
        self._install_signal_handlers()  # type: ignore[no-untyped-call]
        try:
            self.register_birth()
        except _REDIS_DOWN as exc:
            log.warning("scheduler %s: Redis unavailable at start (%s); will keep trying", self.name, exc)
        try:
            while True:
                time.sleep(max(0.05, self.step()))
        except (KeyboardInterrupt, StopRequested):
            log.info("scheduler %s: stopping", self.name)
        finally:
            try:
                if self.leading:
                    self.lease.release()
                self.register_death()
            except _REDIS_DOWN:
                pass  # the lease expires by itself
