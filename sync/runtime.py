"""The per-process wiring of settings, database, Redis and the active mapping.

Jobs take ids, not objects (RQ's advice), and find everything else here. A process configures it
once (`configure`); forked RQ work-horses inherit the settings but open their own connections.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sync.db import make_engine, make_session_factory
from sync.settings import Settings, load_settings

if TYPE_CHECKING:
    import redis

    from mappings import Mapping
    from sync.jsm import JsmGateway


@dataclass
class Runtime:
    """Lazily opened connections of one process; safe to create before a fork."""

    settings: Settings
    _pid: int = field(default_factory=os.getpid)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.effective_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        from sync.redis_conn import connect

        return connect(self.settings)

    @property
    def mapping(self) -> Mapping:
        """The active mapping (the published database version, else the configured or default file)."""
        from sync.mapping_store import active_mapping

        return active_mapping(self)

    def gateway(self, *, quick: bool = False) -> JsmGateway:
        """The JSM gateway of this process (one per tuning), sharing the per-site throttle through Redis.

        `quick` is for the inbox: few in-job retries, because a deferred inbox row is retried anyway.
        An unreachable Redis must not block work: the throttle then stays in this process.
        """
        gateways: dict[bool, JsmGateway] = self.__dict__.setdefault("_gateways", {})
        if quick not in gateways:
            from sync.jsm import JsmGateway

            try:
                client = self.redis
            except Exception:
                client = None
            tuning = {"max_attempts": 2, "max_retry_wait": 5.0} if quick else {}
            gateways[quick] = JsmGateway.from_settings(self.settings, redis=client, **tuning)
        return gateways[quick]

    def gateways_made(self) -> list[JsmGateway]:
        """The gateways this process has made so far (whose call counts are published for sync health)."""
        return list(self.__dict__.get("_gateways", {}).values())

    def close(self) -> None:
        """Release pooled connections (before a fork, at exit)."""
        if "engine" in self.__dict__:
            self.engine.dispose()


_current: Runtime | None = None


def configure(settings: Settings) -> Runtime:
    """Install the runtime of this process."""
    global _current
    if _current is not None and _current.settings is not settings:
        _current.close()
    _current = Runtime(settings)
    os.environ["COMPANION_RUNTIME_CONFIGURED"] = "1"
    return _current


def get_runtime() -> Runtime:
    """The runtime of this process; loads settings from the environment if nobody configured it."""
    global _current
    if _current is None:
        _current = Runtime(load_settings())
    elif _current._pid != os.getpid():
        # A forked child must not reuse the parent's pooled sockets.
        if "engine" in _current.__dict__:
            _current.engine.dispose(close=False)
        _current = Runtime(_current.settings)
    return _current
