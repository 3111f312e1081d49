"""gunicorn settings passed by `companion serve` (`--config <path of this file>`): server hooks, and gevent
patched into the master before anything else.

Loaded by path, not as `app.gunicorn_conf`: importing it as a module would import the `app` package (and
with it requests, urllib3 and redis) before gevent patches `ssl` and `socket`. Modules that took names
from an unpatched `ssl` would then block the whole worker on each HTTPS call to JSM.
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
from typing import Any  # noqa: E402

from prometheus_client import multiprocess  # noqa: E402


def child_exit(_server: Any, worker: Any) -> None:
    """A web worker exited: its live gauges no longer count (prometheus-client multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
