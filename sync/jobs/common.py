"""What every job module shares: the stable dotted path RQ stores, the request id a job logs under, and
the Redis errors an enqueue tolerates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

import redis

from sync.logs import request_id

if TYPE_CHECKING:
    from sync.runtime import Runtime

# RQ stores a job as "<module>.<name>" and imports that path when a worker runs it; its cron scheduler
# keys each entry by the same path. Every job is stored under this package, whichever module defines it,
# so moving a job between modules never strands a queued job, and during a rolling upgrade a worker of
# either release runs the jobs the other one queued. `sync.jobs` re-exports each one under that name.
PACKAGE = "sync.jobs"
ENTRY_POINTS: dict[str, Callable[..., object]] = {}

_F = TypeVar("_F", bound=Callable[..., object])

REDIS_DOWN = (redis.RedisError, OSError)


def rq_job(func: _F) -> _F:
    """Mark `func` as an RQ entry point, stored (and found again) as `sync.jobs.<name>`."""
    func.__module__ = PACKAGE
    ENTRY_POINTS[func.__name__] = func
    return func


def trace() -> dict[str, str]:
    """Job meta carrying the current request id, so the worker logs the job under it."""
    rid = request_id.get()
    return {"request_id": rid} if rid else {}


def redis_or_none(runtime: Runtime) -> redis.Redis | None:
    """The runtime's Redis client, or None when it cannot even be made (statistics must not fail a job)."""
    try:
        return runtime.redis
    except Exception:  # an embedded Redis that cannot start raises its own error, not RedisError
        return None


def count(counts: dict[str, int], state: str) -> None:
    """Add one to `counts[state]`."""
    counts[state] = counts.get(state, 0) + 1


def moment(now: str | None) -> datetime:
    """A cron job's `now` argument (ISO 8601, for tests and catch-up runs) as a time, else the real time."""
    return datetime.fromisoformat(now.replace("Z", "+00:00")) if now else datetime.now(UTC)
