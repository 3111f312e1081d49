"""RQ job entry points of the outbox (queue `outbound`); they take ids and find the rest in the runtime."""

from __future__ import annotations

import logging

from sync.outbound import LEASE_SECONDS, due_actions, request_push
from sync.runtime import get_runtime

log = logging.getLogger(__name__)


def push_action(action_id: int) -> str:
    """Push one outbox action to JSM; returns its state afterwards."""
    from sync.outbound_push import push

    return push(get_runtime(), action_id)


def sweep_outbox(lease_seconds: float = LEASE_SECONDS) -> dict[str, int]:
    """Re-enqueue outbox actions that are due: never enqueued (Redis was away), retry time reached,
    or abandoned mid-send by a worker that died (past the lease)."""
    runtime = get_runtime()
    with runtime.sessions() as session, session.begin():
        ids = due_actions(session, lease_seconds)
    enqueued = sum(1 for action_id in ids if request_push(runtime.redis, action_id))
    return {"outbox_due": len(ids), "outbox_enqueued": enqueued}
