"""The RQ queues by name, and what a worker tells the jobs it runs (the jobs live in `sync.jobs`)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

import redis
from rq import Queue

QUEUE_NAMES = ("inbound", "outbound", "notify", "maintenance")

# Set by the worker around each job it runs in its own process (`sync.worker`): whether the job should
# return soon because a stop was requested or another of the worker's queues has jobs waiting. A job
# that may keep going for a while (the inbox drain lingers under steady traffic) asks it between steps;
# unset (None) outside such a worker, where the job must not linger at all.
hand_back: ContextVar[Callable[[], bool] | None] = ContextVar("hand_back", default=None)


def queue(name: str, connection: redis.Redis) -> Queue:
    """The RQ queue `name` on `connection`."""
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; known: {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection)
