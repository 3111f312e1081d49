"""What every benchmark needs: a fresh migrated database, Redis, subprocess env, gunicorn and timing helpers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BENCH_REDIS_DB = 14  # its own database number on a shared Redis server (flushed by the benchmarks)
SECRET = "bench-secret-0123456789"


@dataclass
class BenchEnv:
    """A migrated database (PostgreSQL when configured, else SQLite) and a Redis URL, for one benchmark."""

    data_dir: Path
    database_url: str
    redis_url: str

    @property
    def dialect(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    def child_env(self, **extra: str) -> dict[str, str]:
        """Environment for companion processes (gunicorn, rq workers) using this database and Redis."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_")}
        env.update(COMPANION_DATABASE_URL=self.database_url, COMPANION_REDIS_URL=self.redis_url,
                   COMPANION_DATA_DIR=str(self.data_dir), COMPANION_SECRET_KEY="bench",
                   COMPANION_JIRA_WEBHOOK_SECRET=SECRET, PYTHONPATH=str(ROOT), **extra)
        return env

    def settings(self, **overrides):  # type: ignore[no-untyped-def]
        """Settings for in-process work (apply, economy)."""
        from sync.settings import Settings

        values = {"data_dir": self.data_dir, "database_url": self.database_url, "redis_url": self.redis_url,
                  "secret_key": "bench", "jira": {"webhook_secret": SECRET}}
        values.update(overrides)
        return Settings(**values)


def postgres_base() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


@contextmanager
def bench_env(prefer_postgres: bool = True) -> Iterator[BenchEnv]:
    """A fresh database for this benchmark (created and dropped) and a clean Redis database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from sync.db import upgrade

    data_dir = Path(tempfile.mkdtemp(prefix="companion-bench-"))
    redis_url, embedded = _redis(data_dir)
    base = postgres_base() if prefer_postgres else None
    admin = None
    if base:
        base_url = make_url(base)
        if base_url.drivername in ("postgresql", "postgres"):
            base_url = base_url.set(drivername="postgresql+psycopg")
        name = f"companion_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base_url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{data_dir / 'bench.db'}"
    try:
        upgrade(url)  # inside: a failed migration must still drop the database and stop the embedded Redis
        yield BenchEnv(data_dir, url, redis_url)
    finally:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if embedded:
            from sync.redis_conn import stop_embedded_redis

            stop_embedded_redis(data_dir / "redis")
        shutil.rmtree(data_dir, ignore_errors=True)  # the database file, .eml files, the embedded Redis's files


def _redis(data_dir: Path) -> tuple[str, bool]:
    """BENCH_REDIS_URL when set (its database BENCH_REDIS_DB, flushed), else a private embedded redis-server.

    Not a shared server's fixed database by default: two benchmark runs on one machine (or a test run using
    that number) would flush and take each other's queued jobs, and a job taken away shows up as a missed
    mail or a stale ticket rather than as an error.
    """
    configured = os.environ.get("BENCH_REDIS_URL")
    if configured:
        import redis

        base, _, tail = configured.rstrip("/").rpartition("/")
        has_db = tail.isdigit() and base.count("/") >= 2
        url = f"{base}/{BENCH_REDIS_DB}" if has_db else f"{configured}/{BENCH_REDIS_DB}"
        redis.Redis.from_url(url).flushdb()
        return url, False
    from sync.redis_conn import ensure_embedded_redis

    url, _ = ensure_embedded_redis(data_dir / "redis")
    return url, True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(app_path: str, env: dict[str, str], ready_path: str = "/healthz", workers: int = 2) -> Iterator[str]:
    """`app_path` served on a free port exactly as `companion serve` serves the companion: the same gunicorn
    command line (gevent worker, its connection limit, the config file that patches the master, the logger
    class), so the baselines and the companion are measured on one server setup."""
    from app.cli.processes import gunicorn_argv

    port = free_port()
    # Its log goes to a file, never to a pipe nobody reads: the app logs a line per request, and a full
    # pipe (64 KiB, some 600 requests) would block every worker on its next write.
    data_dir = Path(env.get("COMPANION_DATA_DIR") or tempfile.gettempdir())
    log_path = data_dir / f"gunicorn-{port}.log"
    # `serve` exports a metrics directory before gunicorn starts (sync.telemetry): the counters are then
    # shared files, a cost each counted response pays in production too.
    metrics = data_dir / f"metrics-{port}"
    metrics.mkdir(parents=True, exist_ok=True)
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": env.get("PROMETHEUS_MULTIPROC_DIR") or str(metrics)}
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(gunicorn_argv(f"127.0.0.1:{port}", workers, app_path), cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log_file)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + ready_path, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_http(url: str, proc: subprocess.Popen | None = None, log_path: Path | None = None,
              timeout: float = 60) -> None:
    """Wait until `url` answers (any status below 500)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path and log_path.exists() else ""
            raise RuntimeError(f"server exited: {tail}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
