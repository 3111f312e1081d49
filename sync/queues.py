"""The RQ queues by name (the enqueue helpers live beside their jobs in `sync.jobs`)."""

from __future__ import annotations

import redis
from rq import Queue

QUEUE_NAMES = ("inbound", "outbound", "notify", "maintenance")


def queue(name: str, connection: redis.Redis) -> Queue:
    """The RQ queue `name` on `connection`."""
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection)
