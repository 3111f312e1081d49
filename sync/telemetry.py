"""Metrics of every process type through prometheus-client's multiprocess mode.

Web, worker and scheduler processes of one machine write their counters to files under one directory
(`PROMETHEUS_MULTIPROC_DIR`, default `data_dir/metrics`); the web's `/metrics` merges them. The client
reads that variable when a metric is created, so it must be in the environment before the process
imports our modules: `companion run` sets it for its children, `serve` before it starts gunicorn, and
`worker`/`scheduler` started alone re-execute themselves once with it set. Set it yourself (e.g. in a
systemd unit) to share one directory between processes started separately on a machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import Counter, Histogram, values

from sync.settings import Settings

ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_IN_NAME = re.compile(r"_(\d+)h?\.db$")
# Set in an RQ work-horse to its worker's pid (sync.worker). A worker forks one horse per job, one at a
# time: all of a worker's horses write one file ("<worker pid>h") instead of a file per job.
horse_of: int | None = None


def _process_identifier() -> str:
    pid = os.getpid()
    return f"{horse_of}h" if horse_of is not None and horse_of != pid else str(pid)


if os.environ.get(ENV):
    # Replaces the client's default (one file per pid) before any metric below is created.
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=_process_identifier)

# ------------------------------------------------------------------ the metrics our processes count
HTTP_RESPONSES = Counter("companion_http_responses_total", "Web responses by endpoint group and status class",
                         ["endpoint", "status"])
JSM_RESPONSES = Counter("companion_jsm_responses_total", "HTTP answers from JSM by endpoint kind and status "
                        "(\"error\": no answer: timeout, connection refused)", ["kind", "status"])
JOBS = Counter("companion_jobs_total", "RQ jobs finished by the workers, by job and outcome", ["job", "outcome"])
JOB_SECONDS = Histogram("companion_job_duration_seconds", "Run time of RQ jobs", ["job"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800))
# Rows per durable commit of the webhook inbox (app.services.inbox_commit): how much deliveries share one.
INBOX_COMMIT_ROWS = Histogram("companion_inbox_commit_rows", "Webhook deliveries written per inbox commit",
                              buckets=(1, 2, 4, 8, 16, 32, 64))
CRON_TICKS = Counter("companion_scheduler_ticks_total", "Cron ticks enqueued by the leading scheduler", ["job"])


def metrics_dir(settings: Settings) -> Path:
    """The directory this install's processes share for their metric files."""
    return Path(os.environ.get(ENV) or settings.data_dir.resolve() / "metrics")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare(settings: Settings, *, clean: bool) -> Path:
    """Create the directory and export it; `clean` drops every file (a supervisor starting afresh),
    otherwise only the files of processes that no longer run (a process joining running ones)."""
    path = metrics_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    for file in path.glob("*.db"):
        match = _PID_IN_NAME.search(file.name)
        if clean or (match and not _alive(int(match.group(1)))):
            file.unlink(missing_ok=True)
    os.environ[ENV] = str(path)
    return path


def enabled() -> bool:
    """Whether this process was started in multiprocess mode."""
    return bool(os.environ.get(ENV))
