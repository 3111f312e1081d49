"""Helpers for tests that run real `companion` processes: their environment, start, stop, log capture."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sync.settings import Settings
from tests.conftest import REPO_ROOT, make_settings


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `companion` child process for this test install (no inherited COMPANION_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
    env.update(COMPANION_DATABASE_URL=settings.effective_database_url, COMPANION_REDIS_URL=settings.redis_url or "",
               COMPANION_DATA_DIR=str(settings.data_dir), COMPANION_SECRET_KEY="test-secret-key",
               PROMETHEUS_MULTIPROC_DIR=str(settings.data_dir / "metrics"))
    (settings.data_dir / "metrics").mkdir(parents=True, exist_ok=True)
    env.update(extra)
    return env


def serve_env(data_dir: Path, database_url: str, redis_url: str, webhook_secret: str) -> dict[str, str]:
    """The environment of a web server started by hand in `data_dir` (not in the checkout), verifying webhooks
    with `webhook_secret`."""
    settings = make_settings(data_dir, database_url, redis_url, jira={"webhook_secret": webhook_secret})
    return process_env(settings, COMPANION_JIRA_WEBHOOK_SECRET=webhook_secret, PYTHONPATH=str(REPO_ROOT))


def start(args: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """`python -m app ARGS` in its own session (so a kill reaches its whole group), output to `log`."""
    if log is None:
        return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, env=env,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL the process group after `timeout`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and its group (a crash, an OOM kill)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll until `predicate()` is truthy; returns its value, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def healthy(base: str) -> bool:
    """`GET {base}/healthz` answers 200 now (a server still starting, or gone, is not healthy)."""
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
