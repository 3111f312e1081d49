"""RQ queues and the enqueue helpers; every enqueue tolerates Redis being away (a sweeper catches up)."""

from __future__ import annotations

import logging

import redis
from rq import Queue

log = logging.getLogger(__name__)

QUEUE_NAMES = ("inbound", "outbound", "maintenance")
# Set while a drain job is queued but not started; the job clears it before it reads the inbox, so a
# row committed after that read always finds the key free and enqueues a new drain.
DRAIN_PENDING_KEY = "companion:inbound:drain-pending"


def queue(name: str, connection: redis.Redis) -> Queue:
    """The RQ queue `name` on `connection`."""
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection)


def request_inbox_drain(connection: redis.Redis) -> bool:
    """Make sure a drain job will run after this point; False when Redis is unavailable."""
    from sync.jobs import drain_inbox

    try:
        if connection.set(DRAIN_PENDING_KEY, "1", nx=True, ex=300):
            queue("inbound", connection).enqueue(drain_inbox, job_timeout=600, result_ttl=60, failure_ttl=86_400)
        return True
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unavailable, inbox drain left to the sweeper: %s", exc)
        return False


def clear_drain_request(connection: redis.Redis) -> None:
    """Called by a starting drain job: from now on a new row must enqueue a new drain."""
    connection.delete(DRAIN_PENDING_KEY)
