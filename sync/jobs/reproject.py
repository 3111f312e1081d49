"""Re-projecting every ticket after a mapping is published (queue "maintenance"), with progress in Redis."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import redis
from rq import Queue

from sync.jobs.common import rq_job
from sync.projection import reproject
from sync.queues import queue
from sync.redis_conn import get_bytes

if TYPE_CHECKING:
    from rq.job import Job

    from sync.runtime import Runtime

log = logging.getLogger(__name__)

REPROJECT_PROGRESS_KEY = "companion:mapping:reproject"


def request_reproject(runtime: Runtime, version: int | None) -> str | None:
    """Enqueue the re-projection of every ticket under the mapping just published; returns the job id.

    With Redis away the tickets are re-projected here and now (None): better a slow publish than
    tickets left on the old mapping.
    """
    try:
        maintenance: Queue = queue("maintenance", runtime.redis)
        job: Job = maintenance.enqueue(reproject_all, version, job_timeout=3600)
        return str(job.id)
    except Exception as exc:  # an embedded Redis that cannot start raises its own error, not RedisError
        log.warning("Redis unavailable (%s): re-projecting every ticket in this process", exc)
        reproject_all(runtime, version)
        return None


@rq_job
def reproject_all(runtime: Runtime, version: int | None = None) -> dict[str, object]:
    """Re-project every ticket under the active mapping (after a publish), with progress in Redis."""
    runtime.forget_mapping()
    mapping = runtime.mapping

    def progress(done: int, total: int) -> None:
        runtime.redis.set(REPROJECT_PROGRESS_KEY, json.dumps({"version": version, "done": done, "total": total,
                                                               "state": "running"}), ex=3600)

    with runtime.sessions() as session, session.begin():
        result = reproject.apply(session, mapping, progress)
    summary: dict[str, Any] = {"version": version, "state": "done", **result.as_dict()}
    runtime.redis.set(REPROJECT_PROGRESS_KEY, json.dumps(summary), ex=86_400)
    return summary


def reproject_progress(connection: redis.Redis) -> dict[str, Any] | None:
    """The last re-projection's progress as `reproject_all` reports it, or None."""
    raw = get_bytes(connection, REPROJECT_PROGRESS_KEY)
    progress: dict[str, Any] | None = json.loads(raw) if raw else None
    return progress
