"""`companion run`'s supervisor: starts its children, restarts a crashed one with backoff, drains on SIGTERM.

Each child runs in its own session, so Ctrl-C in a terminal reaches only the supervisor, which then
stops the children in order with SIGTERM (gunicorn finishes in-flight requests, RQ workers finish the job
in hand) and kills what is still running after the child's drain time.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger("companion.supervisor")

# Backoff between restarts of one child: 1, 2, 4 … up to 30 s; a child that ran this long counts as
# healthy again and restarts at once the next time it dies (after BASE).
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
STABLE_SECONDS = 60.0


@dataclass
class Child:
    """One supervised process: its `companion` arguments and how long it may take to drain."""

    name: str
    args: list[str]
    drain_seconds: float
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # crashes in a row without a stable run in between
    restart_at: float | None = None
    restarts: int = field(default=0)


class Supervisor:
    """Starts and keeps alive the children of one install."""

    def __init__(self, config: str | None, env: dict[str, str]) -> None:
        self.config, self.env = config, env
        self.children: list[Child] = []
        self.stopping = False

    def add(self, name: str, args: list[str], drain_seconds: float = 15.0) -> Child:
        """Start a child now and keep it running."""
        child = Child(name, args, drain_seconds)
        self.children.append(child)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        base = [sys.executable, "-m", "app"] + (["--config", self.config] if self.config else [])
        child.process = subprocess.Popen(base + child.args, env=self.env, start_new_session=True)
        child.started_at, child.restart_at = time.monotonic(), None
        log.info("started %s (pid %s)", child.name, child.process.pid)

    def check(self) -> None:
        """Notice exited children and (re)start those whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if child.restart_at is None and process is not None and process.poll() is not None:
                if now - child.started_at >= STABLE_SECONDS:
                    child.failures = 0
                delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** child.failures)
                child.failures += 1
                child.restart_at = now + delay
                log.error("%s (pid %s) exited with code %s; restarting in %.0f s", child.name, process.pid,
                          process.returncode, delay,
                          extra={"child": child.name, "exit_code": process.returncode, "restart_in": delay})
            if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                child.restarts += 1
                self._start(child)

    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM ask the supervisor to stop (the loop drains the children)."""

        def request_stop(_signum: int, _frame: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def supervise(self, interval: float = 0.5) -> None:
        """Keep the children running until a stop is requested."""
        while not self.stopping:
            self.check()
            time.sleep(interval)

    def stop(self) -> None:
        """SIGTERM every child (in the order added), wait for each to drain, kill what is left."""
        self.stopping = True
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(child.drain_seconds)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killed", child.name, child.drain_seconds)
                child.process.kill()
                child.process.wait(5)
