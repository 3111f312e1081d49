"""RQ workers that hand each job the runtime of their process, and find jobs queued by older releases.

RQ stores a job's function as a dotted path and calls it with the stored arguments. Our jobs take the
`Runtime` first (`sync.jobs`), so the worker holds one runtime, made before it forks work-horses, and
`RuntimeJob` passes it in. Jobs queued before a release that moved their function still run: their old
dotted paths are mapped to today's in LEGACY_PATHS (keep an entry for at least one release after a move).

Inbox drains run in the worker's own process, every other job in a forked work-horse. A drain is the
freshness path: a fork, fresh connections and a cold mapping cost more than a batch, and two workers
starting fresh horses at once left nobody draining for a few hundred milliseconds every ten seconds
(bench/freshness.py). A drain holds no state outside the database: a worker that dies mid-batch rolls
its transaction back, the rows stay pending, and the next drain (a new delivery's, or the sweeper's)
applies them.
"""

from __future__ import annotations

import functools
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
from rq.queue import Queue
from rq.utils import import_attribute
from rq.worker import BaseWorker, DequeueStrategy, WorkerStatus
from sqlalchemy import text

from sync import telemetry
from sync.heap import freeze_startup_objects
from sync.logs import bound_request_id
from sync.queues import hand_back, queue
from sync.runtime import Runtime
from sync.telemetry import JOB_SECONDS, JOBS

log = logging.getLogger(__name__)
# Redis or the database gone while the worker runs: wait for them, doubling up to this, then go on.
MAX_BACKOFF_SECONDS = 30.0

# Queues whose jobs run in the worker's process instead of a forked work-horse (see above).
IN_PROCESS_QUEUES = frozenset({"inbound"})

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
        token = hand_back.set(functools.partial(self.should_hand_back, job.origin))
        try:
            with bound_request_id(job.meta.get("request_id")):
                ok = bool(super().perform_job(job, *args, **kwargs))
        finally:
            hand_back.reset(token)
        JOBS.labels(job=name, outcome="ok" if ok else "failed").inc()
        JOB_SECONDS.labels(job=name).observe(time.monotonic() - started)
        return ok

    def should_hand_back(self, origin: str) -> bool:
        """Whether the job in hand (from queue `origin`) should return soon: a stop was requested, or
        another of this worker's queues has jobs waiting (a lingering inbox drain must not hold up the outbox)."""
        if self._stop_requested or self._shutdown_requested_date is not None:
            return True
        return any(q.name != origin and q.count > 0 for q in self.queues)


class RuntimeWorker(_HandsRuntime, Worker):
    """The production worker: inbox drains run in its process, any other job in a forked work-horse,
    so a crash of one loses only that attempt."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        if queue.name not in IN_PROCESS_QUEUES:
            super().execute_job(job, queue)
            return
        # What RQ's SimpleWorker does: the job's timeout still applies (SIGALRM in this process).
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)


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
    freeze_startup_objects()  # before the first job: drains run in this process (sync.heap says why)

    def request_stop(_signum: int, _frame: object) -> None:
        stop["requested"] = True

    while True:
        worker = make_worker(runtime, names)
        try:
            # In turn: a busy inbox always has a drain queued, which must not starve the other queues.
            worker.work(burst=burst, with_scheduler=False, logging_level="INFO",
                        dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
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
