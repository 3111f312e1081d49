"""RQ job entry points of the outbox (queue `outbound`); they take ids and find the rest in the runtime."""

from __future__ import annotations

import logging
import time

from sync.outbound import JOB_TIMEOUT, LEASE_SECONDS, PUSH_PENDING_KEY, due_actions, request_push
from sync.runtime import get_runtime

log = logging.getLogger(__name__)

# A drain stops taking new actions after this long (well inside JOB_TIMEOUT) and hands on to a new job.
DRAIN_SECONDS = JOB_TIMEOUT / 2


def push_action(action_id: int) -> str:
    """Push one outbox action to JSM; returns its state afterwards."""
    from sync.outbound_push import push

    return push(get_runtime(), action_id)


def drain_outbox() -> dict[str, int]:
    """Push every due outbox action (claims are row-locked, so several drains may run at once)."""
    from sync.outbound_push import gateway_for, push

    runtime = get_runtime()
    runtime.redis.delete(PUSH_PENDING_KEY)  # from now on a new submission must enqueue a new drain
    gw = gateway_for(runtime)
    counts: dict[str, int] = {}
    started, seen = time.monotonic(), set()
    while time.monotonic() - started < DRAIN_SECONDS:
        with runtime.sessions() as session, session.begin():
            ids = [i for i in due_actions(session, LEASE_SECONDS, limit=50) if i not in seen]
        if not ids:
            return counts
        for action_id in ids:
            seen.add(action_id)  # one try per drain: a transient failure waits for its next_attempt_at
            state = push(runtime, action_id, gw)
            counts[state] = counts.get(state, 0) + 1
    request_push(runtime.redis, force=True)  # time is up with work left: continue in a fresh job
    return counts


def sweep_outbox(lease_seconds: float = LEASE_SECONDS) -> dict[str, int]:
    """Re-enqueue outbox actions that are due: never enqueued (Redis was away), retry time reached,
    or abandoned mid-send by a worker that died (past the lease)."""
    runtime = get_runtime()
    with runtime.sessions() as session, session.begin():
        ids = due_actions(session, lease_seconds)
    enqueued = bool(ids) and request_push(runtime.redis, force=True)
    return {"outbox_due": len(ids), "outbox_enqueued": len(ids) if enqueued else 0}
