"""Counting a big scope's summary on queue "maintenance", kept in Redis for minutes: an administrator's summary
of every organisation, or a big organisation's (the web process decides which scopes are big).

Over a million requests the count reads every row and costs seconds of CPU: in a web process (a thread
of a gevent worker) it stalled every request that worker served, so a worker counts it instead. The
figures are in no language (`sync.reports.scope_summary`); each reader's page words them
(`app.services.summary_cache`). One count at a time per summary, across every process: a Redis lock
taken before the job is queued and released when it ends (or after `LOCK_SECONDS`, should its worker die).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import redis
from rq import Worker
from sqlalchemy import select

from sync.jobs.common import rq_job, trace
from sync.models import Ticket, User
from sync.queues import queue
from sync.redis_conn import get_bytes
from sync.reports.scope_summary import summary_figures
from sync.scope import scopes_for, visible_condition

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

SUMMARY_KEY_PREFIX = "companion:summary:"
QUEUE = "maintenance"
# Kept figures younger than this are shown as they are; older ones are shown while a new count runs.
FRESH_SECONDS = 300
# Kept figures nobody asked for again in this long are gone: the next reader waits for a count.
KEEP_SECONDS = 1800
# The longest a count may run (its job's timeout), and so the longest its lock outlives a dead worker.
LOCK_SECONDS = 600


def summary_key(scope: str, user_id: int, zone: str) -> str:
    """The Redis key of the figures `user_id` reads for `scope` in time zone `zone`."""
    return f"{SUMMARY_KEY_PREFIX}{scope}:{user_id}:{zone}"


@dataclass(frozen=True)
class Kept:
    """Figures kept in Redis and when they were counted."""

    figures: dict[str, Any]
    at: float  # a POSIX timestamp

    @property
    def age(self) -> float:
        """Seconds since the count."""
        return datetime.now(UTC).timestamp() - self.at


def kept_figures(connection: redis.Redis, key: str) -> Kept | None:
    """The figures kept under `key`, or None (never counted, or expired). Redis errors reach the caller."""
    raw = get_bytes(connection, key)
    if raw is None:
        return None
    entry = json.loads(raw)
    return Kept(entry["data"], float(entry["at"]))


def keep_figures(connection: redis.Redis, key: str, figures: dict[str, Any]) -> None:
    """Keep `figures` under `key` for `KEEP_SECONDS`, counted now."""
    entry = {"at": datetime.now(UTC).timestamp(), "data": figures}
    connection.set(key, json.dumps(entry), ex=KEEP_SECONDS)


def workers_counting(connection: redis.Redis) -> int:
    """How many workers take jobs from the summary's queue (0: a requested count would never run)."""
    return Worker.count(connection=connection, queue=queue(QUEUE, connection))


def request_count(connection: redis.Redis, user_id: int, scope: str, zone: str) -> bool:
    """Queue a count of this summary unless one is queued or running already; True when this call queued it.

    Queued at the front: a reader is waiting, and a long reconciliation queued before must not keep the
    page counting for its duration. Redis errors reach the caller.
    """
    lock = summary_key(scope, user_id, zone) + ":counting"
    if not connection.set(lock, "1", nx=True, ex=LOCK_SECONDS):
        return False
    try:
        queue(QUEUE, connection).enqueue(count_summary, user_id, scope, zone, job_timeout=LOCK_SECONDS,
                                         result_ttl=60, failure_ttl=86_400, at_front=True, meta=trace())
    except BaseException:
        connection.delete(lock)  # no job holds it: the next reader asks again
        raise
    return True


def count_figures(runtime: Runtime, user_id: int, scope: str, zone: str) -> dict[str, Any] | None:
    """Count the figures of `user_id`'s `scope` and keep them (None: no such reader or scope any more)."""
    with runtime.sessions() as db:
        user = db.get(User, user_id)
        if user is None or scope not in scopes_for(user):
            return None
        figures = summary_figures(db, select(Ticket).where(visible_condition(user, scope)),
                                  runtime.mapping.policies.calendar, ZoneInfo(zone), reader=user)
    keep_figures(runtime.redis, summary_key(scope, user_id, zone), figures)
    return figures


@rq_job
def count_summary(runtime: Runtime, user_id: int, scope: str, zone: str) -> dict[str, object]:
    """Count and keep the summary of `scope` that `user_id` reads (queued by `request_count`)."""
    started = time.process_time()
    try:
        counted = count_figures(runtime, user_id, scope, zone) is not None
    finally:
        runtime.redis.delete(summary_key(scope, user_id, zone) + ":counting")
    cpu = round(time.process_time() - started, 2)
    log.info("summary of scope %s for user %s counted: %s s of CPU", scope, user_id, cpu)
    return {"counted": counted, "cpu_seconds": cpu}
