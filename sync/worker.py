"""RQ workers that hand each job the runtime of their process, and find jobs queued by older releases.

RQ stores a job's function as a dotted path and calls it with the stored arguments. Our jobs take the
`Runtime` first (`sync.jobs`), so the worker holds one runtime, made before it forks work-horses, and
`RuntimeJob` passes it in. Jobs queued before a release that moved their function still run: their old
dotted paths are mapped to today's in LEGACY_PATHS (keep an entry for at least one release after a move).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterable
from typing import Any

import redis
from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.job import Job
from rq.utils import import_attribute
from rq.worker import BaseWorker
from sqlalchemy import text

from sync import telemetry
from sync.logs import bound_request_id
from sync.queues import queue
from sync.runtime import Runtime
from sync.telemetry import JOB_SECONDS, JOBS

log = logging.getLogger(__name__)
# Redis or the database gone while the worker runs: wait for them, doubling up to this, then go on.
MAX_BACKOFF_SECONDS = 30.0

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
        if self.pid is not None and os.getpid() != self.pid:
            telemetry.horse_of = self.pid  # a forked work-horse: one metrics file per worker, not per job
        name = (job.func_name or "unknown").rsplit(".", 1)[-1]
        started = time.monotonic()
        with bound_request_id(job.meta.get("request_id")):
            ok = bool(super().perform_job(job, *args, **kwargs))
        JOBS.labels(job=name, outcome="ok" if ok else "failed").inc()
        JOB_SECONDS.labels(job=name).observe(time.monotonic() - started)
        return ok


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


def unreachable(runtime: Runtime) -> str | None:
    """Why this process cannot work now (Redis or the database does not answer), or None."""
    masked = runtime.settings.masked()
    try:
        runtime.redis.ping()
    except Exception as exc:  # redis errors, OSError, or an embedded server that cannot start
        return f"Redis at {masked.get('redis_url') or 'the embedded server'} does not answer ({exc})"
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error: the message names the database, never its password
        return f"the database at {masked['database_url']} does not answer ({type(exc).__name__}: " \
               f"{str(exc).splitlines()[0][:200]})"
    return None


def run_worker(runtime: Runtime, queue_names: Iterable[str], *, burst: bool = False) -> int:
    """Work until SIGTERM (or, with `burst`, until the queues are empty), outliving Redis/database outages.

    RQ's loop returns when Redis times out or an unexpected error escapes it; then this waits, with
    backoff, until both answer again and starts a fresh worker. SIGTERM during the wait stops at once.
    """
    names = list(queue_names)
    delay = 1.0
    stop = {"requested": False}

    def request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    while True:
        worker = make_worker(runtime, names)
        try:
            worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
        except (redis.RedisError, OSError) as exc:  # e.g. its teardown could not reach Redis either
            log.warning("the worker loop stopped: %s", exc)
        # RQ records a warm shutdown only in `_stop_requested` while a job runs; an idle worker's SIGTERM
        # ends work() with nothing but the request's date set, which must not read as an outage.
        if burst or worker._stop_requested or worker._shutdown_requested_date is not None:
            return 0
        time.sleep(1.0)  # never spin on a loop that stops at once
        signal.signal(signal.SIGTERM, request_stop)  # RQ's handlers stay installed after work() returns
        signal.signal(signal.SIGINT, request_stop)
        while not stop["requested"] and (problem := unreachable(runtime)) is not None:
            log.warning("worker waits %.0f s: %s", delay, problem)
            try:
                time.sleep(delay)
            except StopRequested:
                return 0
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        if stop["requested"]:
            return 0
        runtime.close()  # a fresh pool after the outage
        log.info("Redis and the database answer again; the worker goes on")
        delay = 1.0
