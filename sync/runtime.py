"""The wiring of one process: settings, database, Redis, the active mapping and the JSM gateways.

A `Runtime` is built once by whoever starts a process (the web app, a worker, the scheduler, a CLI
command, a test) and handed explicitly to everything that needs a connection: RQ jobs receive it
from the worker (`sync.worker`), web code reads it from the Flask app. Nothing looks it up globally.
Connections open lazily, so a runtime may be built before a fork; `for_this_process` gives a forked
child its own pools while keeping what is safe to share (the parsed mapping).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sync import mapping_store
from sync.db import make_engine, make_session_factory
from sync.redis_conn import connect

if TYPE_CHECKING:
    import redis

    from mappings import Mapping
    from sync.settings import Settings

# Connection pools and clients are per process; these cached properties are dropped after a fork.
_PER_PROCESS = ("engine", "sessions", "redis")


@dataclass
class Runtime:
    """Lazily opened connections of one process; safe to create before a fork."""

    settings: Settings
    # The JSM gateways of this process, one per tuning (see `sync.jsm.gateway.gateway_for`).
    gateways: dict[str, Any] = field(default_factory=dict)
    # The active mapping, re-checked against the database every few seconds (`sync.mapping_store`).
    mapping_cache: mapping_store.MappingCache = field(default_factory=mapping_store.MappingCache)
    _pid: int = field(default_factory=os.getpid)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.effective_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return connect(self.settings)

    @property
    def mapping(self) -> Mapping:
        """The active mapping (the published database version, else the configured or default file)."""
        return mapping_store.active_mapping(self.sessions, self.settings, self.mapping_cache)

    def forget_mapping(self) -> None:
        """Re-read the active mapping at the next use (after a publish)."""
        self.mapping_cache.clear()

    def for_this_process(self) -> Runtime:
        """This runtime, made safe to use in the current process: a forked child drops the parent's pools."""
        if self._pid != os.getpid():
            if "engine" in self.__dict__:
                # The parent still owns these sockets: forget them without closing them under its feet.
                self.engine.dispose(close=False)
            for name in _PER_PROCESS:
                self.__dict__.pop(name, None)
            self.gateways.clear()
            self._pid = os.getpid()
        return self

    def close(self) -> None:
        """Release pooled connections (before a fork, at exit)."""
        if "engine" in self.__dict__:
            self.engine.dispose()
