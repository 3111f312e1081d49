"""RQ workers that hand each job the runtime of their process, and find jobs queued by older releases.

RQ stores a job's function as a dotted path and calls it with the stored arguments. Our jobs take the
`Runtime` first (`sync.jobs`), so the worker holds one runtime, made before it forks work-horses, and
`RuntimeJob` passes it in. Jobs queued before a release that moved their function still run: their old
dotted paths are mapped to today's in LEGACY_PATHS (keep an entry for at least one release after a move).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import redis
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.utils import import_attribute
from rq.worker import BaseWorker

from sync.queues import queue
from sync.runtime import Runtime

# Dotted paths of job functions in earlier releases → where they live now.
LEGACY_PATHS = {
    "sync.outbound_jobs.drain_outbox": "sync.jobs.drain_outbox",
    "sync.outbound_jobs.sweep_outbox": "sync.jobs.sweep_outbox",
    "sync.retention.prune_inbox": "sync.jobs.prune_inbox",
}


class RuntimeJob(Job):
    """A job whose function receives the worker's runtime before its stored arguments."""

    runtime: Runtime | None = None

    @property
    def func(self) -> Any:
        name = self.func_name
        if name is None or self.instance is not None:
            return super().func
        return import_attribute(LEGACY_PATHS.get(name, name))

    def _execute(self) -> Any:
        if self.runtime is None:
            raise RuntimeError(f"job {self.id} ({self.func_name}) was given no runtime: run it with sync.worker")
        return self.func(self.runtime.for_this_process(), *self.args, **self.kwargs)


class _HandsRuntime(BaseWorker):
    """Mixed into an RQ worker: every job it performs gets the worker's runtime."""

    runtime: Runtime

    def perform_job(self, job: Job, *args: Any, **kwargs: Any) -> bool:
        if isinstance(job, RuntimeJob):
            job.runtime = self.runtime
        return super().perform_job(job, *args, **kwargs)


class RuntimeWorker(_HandsRuntime, Worker):
    """The production worker: each job runs in a forked work-horse, so a crash loses only that attempt."""


class InlineRuntimeWorker(_HandsRuntime, SimpleWorker):
    """A worker that runs jobs in its own process (tests, and `companion reconcile`-style one-offs)."""


def make_worker(runtime: Runtime, queue_names: Iterable[str], *, inline: bool = False,
                connection: redis.Redis | None = None) -> BaseWorker:
    """A worker on `queue_names` whose jobs receive `runtime`."""
    connection = connection if connection is not None else runtime.redis
    cls = InlineRuntimeWorker if inline else RuntimeWorker
    worker = cls([queue(name, connection) for name in queue_names], connection=connection, job_class=RuntimeJob)
    worker.runtime = runtime
    return worker
