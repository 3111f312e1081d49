"""The outbox drain and sweep (queue "outbound"), and the request that makes sure a drain runs."""

from __future__ import annotations

import contextvars
import logging
import time
from typing import TYPE_CHECKING

import redis

from sync.jobs.common import REDIS_DOWN, count, rq_job, trace
from sync.jobs.notify import request_notifications
from sync.jsm.gateway import gateway_for
from sync.outbound.outbox import JOB_TIMEOUT, LEASE_SECONDS, due_actions
from sync.outbound.push import push
from sync.queues import queue

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

# Set while a drain job is queued but not started (cleared by the job before it reads the outbox).
PUSH_PENDING_KEY = "companion:outbound:push-pending"
# A drain stops taking new actions after this long (well inside JOB_TIMEOUT) and hands on to a new job.
DRAIN_SECONDS = JOB_TIMEOUT / 2


def request_push(connection: redis.Redis, action_id: int | None = None, force: bool = False) -> bool:
    """Make sure an outbox drain job runs after this point; False (the sweeper's turn) when Redis is away.

    One drain job pushes every due action with one gateway: an RQ job per action would pay a fork and
    the imports of the JSM client each time (about a second), far more than the push itself (~40 ms).
    The flag keeps a burst of submissions to one queued job; the sweeper forces a new one regardless.
    """
    try:
        if connection.set(PUSH_PENDING_KEY, "1", nx=True, ex=300) or force:
            queue("outbound", connection).enqueue(drain_outbox, job_timeout=JOB_TIMEOUT, result_ttl=60,
                                                  failure_ttl=86_400, meta=trace())
        return True
    except REDIS_DOWN as exc:
        log.warning("Redis unavailable, outbox action %s left to the sweeper: %s", action_id, exc)
        return False


@rq_job
def drain_outbox(runtime: Runtime) -> dict[str, int]:
    """Push every due outbox action (claims are row-locked, so several drains may run at once)."""
    runtime.redis.delete(PUSH_PENDING_KEY)  # from now on a new submission must enqueue a new drain
    gateway = gateway_for(runtime)
    counts: dict[str, int] = {}
    started, seen = time.monotonic(), set()
    while time.monotonic() - started < DRAIN_SECONDS:
        with runtime.sessions() as session, session.begin():
            ids = [i for i in due_actions(session, LEASE_SECONDS, limit=50) if i not in seen]
        if not ids:
            return counts
        for action_id in ids:
            seen.add(action_id)  # one try per drain: a transient failure waits for its next_attempt_at
            # In a copy of the context: each push logs under its own action's request id (sync.logs).
            count(counts, contextvars.copy_context().run(push, runtime, action_id, gateway))
        request_notifications(runtime.redis)  # a confirmed action may have changed what customers see
    request_push(runtime.redis, force=True)  # time is up with work left: continue in a fresh job
    return counts


@rq_job
def sweep_outbox(runtime: Runtime, lease_seconds: float = LEASE_SECONDS) -> dict[str, int]:
    """Re-enqueue outbox actions that are due: never enqueued (Redis was away), retry time reached,
    or abandoned mid-send by a worker that died (past the lease)."""
    with runtime.sessions() as session, session.begin():
        ids = due_actions(session, lease_seconds)
    enqueued = bool(ids) and request_push(runtime.redis, force=True)
    return {"outbox_due": len(ids), "outbox_enqueued": len(ids) if enqueued else 0}
