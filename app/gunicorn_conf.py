"""gunicorn settings passed by `companion serve` (`--config python:app.gunicorn_conf`): server hooks only."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess


def child_exit(_server: Any, worker: Any) -> None:
    """A web worker exited: its live gauges no longer count (prometheus-client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
