"""Shared fixtures: real databases (SQLite; PostgreSQL when TEST_DATABASE_URL is set) and real Redis.

Isolation: PostgreSQL tests run in a database created for this run and dropped after it; Redis tests
use their own database number on $REDIS_URL (flushed before each test), or an embedded redis-server
started for this run when REDIS_URL is unset.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import Engine, make_url
from werkzeug.security import generate_password_hash

from sync.db import upgrade
from sync.models import Base
from sync.runtime import Runtime
from sync.settings import Settings

# Headless Chromium (`pages`, `chromium`) for every directory's browser tests.
pytest_plugins = ["tests.browser"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_JSM = REPO_ROOT.parent / "shared" / "jsm"
# The Redis database number tests use on a shared server (RQ cannot prefix its keys).
TEST_REDIS_DB = int(os.environ.get("COMPANION_TEST_REDIS_DB", "11"))
NO_PG_REASON = "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"


def shared_jsm_dir() -> Path:
    """../shared/jsm next to the checkout; tests that need it skip (saying why) when it is absent."""
    if not SHARED_JSM.is_dir():
        pytest.skip(f"{SHARED_JSM} not found: Atlassian's OpenAPI documents and real samples live outside "
                    "the project (in the team's shared folder) and are not redistributed with it")
    return SHARED_JSM


# --------------------------------------------------------------------------- Redis
@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis URL for this run: $REDIS_URL with a test db number, else an embedded server."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        db, release = _claim_redis_db(configured)
        url = make_url_with_db(configured, db)
        redis.Redis.from_url(url).flushdb()
        yield url
        redis.Redis.from_url(url).flushdb()
        release()
        return
    from sync.redis_conn import ensure_embedded_redis, stop_embedded_redis

    data_dir = tmp_path_factory.mktemp("redis")
    url, _ = ensure_embedded_redis(data_dir)
    yield url
    stop_embedded_redis(data_dir)


def _claim_redis_db(url: str) -> tuple[int, Callable[[], None]]:
    """A database number no other test run on this server is using (tests flush theirs before each test).

    Claims are keys in database 0 (never flushed by tests), so two suites run at once on one machine
    get different databases instead of emptying each other's queues.
    """
    registry = redis.Redis.from_url(make_url_with_db(url, 0))
    run = uuid.uuid4().hex
    for db in [TEST_REDIS_DB, *(n for n in range(1, 16) if n != TEST_REDIS_DB)]:
        key = f"companion:test-db:{db}"
        if registry.set(key, run, nx=True, ex=3600):
            def release(key: str = key) -> None:
                if registry.get(key) == run.encode():
                    registry.delete(key)
            return db, release
    pytest.exit("every Redis database 1-15 is claimed by another test run (keys companion:test-db:* in db 0)")


def make_url_with_db(url: str, db: int) -> str:
    """The same Redis server with another database number."""
    base, _, tail = url.rstrip("/").rpartition("/")
    if tail.isdigit() and base.count("/") >= 2:
        return f"{base}/{db}"
    return f"{url.rstrip('/')}/{db}"


@pytest.fixture
def redis_client(redis_url: str) -> redis.Redis:
    """A clean Redis database for one test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return client


# --------------------------------------------------------------------------- databases
@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database file for this run."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'companion.db'}"
    upgrade(url)
    return url


@contextlib.contextmanager
def created_postgres(base: str, prefix: str) -> Iterator[tuple[str, Engine, str]]:
    """A migrated database created on `base`'s server, named `prefix` and a random suffix; yields its URL, an
    AUTOCOMMIT engine on the server and its name; dropped afterwards (its connections ended first)."""
    base_url = make_url(base)
    if base_url.drivername in ("postgresql", "postgres"):
        base_url = base_url.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base_url.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url, admin, name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database created for this run (dropped afterwards)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(NO_PG_REASON)
    with created_postgres(base, "companion_test") as (url, _, _):
        yield url


def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL (skipped without TEST_DATABASE_URL)."""
    url = request.getfixturevalue(f"{request.param}_url" if request.param == "sqlite" else "postgres_url")
    _empty_tables(url)
    return url


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """An empty, migrated SQLite database (the embedded default)."""
    _empty_tables(sqlite_url)
    return sqlite_url


# --------------------------------------------------------------------------- settings and app
# Every test install verifies webhooks (as production must); tests/helpers.post_webhook signs with it.
TEST_WEBHOOK_SECRET = "test-webhook-secret-0123456789"


def make_settings(tmp_path: Path, database_url: str, redis_url: str, **overrides: Any) -> Settings:
    """Settings for a test install; keyword overrides take nested dicts (jira={...}).

    The webhook secret is TEST_WEBHOOK_SECRET unless the test sets its own or allows unsigned webhooks.
    """
    values: dict[str, Any] = {"data_dir": tmp_path, "database_url": database_url, "redis_url": redis_url,
                              "secret_key": "test-secret-key",
                              # Pages and APIs are tested signed in by password; the second factor's own
                              # tests (tests/security/test_totp.py) turn the admins' requirement back on.
                              "security": {"require_totp_for_managers": False}}
    values.update(overrides)
    jira = dict(values.get("jira") or {})
    if not jira.get("allow_unsigned_webhooks"):
        jira.setdefault("webhook_secret", TEST_WEBHOOK_SECRET)
    values["jira"] = jira
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str, redis_client: redis.Redis) -> Settings:
    """Settings of a fresh install on SQLite and the test Redis."""
    return make_settings(tmp_path, database_url, redis_url)


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    """The Flask app of a fresh install (CSRF off for form-posting tests unless a test turns it on)."""
    from app import create_app

    application = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield application
    application.extensions["companion"].close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runtime(app):  # type: ignore[no-untyped-def]
    return app.extensions["companion"]


def _fast_hash(password: str) -> str:
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@pytest.fixture(autouse=True)
def fast_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap hashes for the accounts tests make and sign in with: scrypt costs about 0.3 s per account and per
    sign-in on a busy CI machine, and a test install makes five or more. Tests of the hashing itself (and every
    `companion` process a test starts) use the real one: `@pytest.mark.real_password_hashes`."""
    if request.node.get_closest_marker("real_password_hashes"):
        return
    for module in ("app.services.accounts", "app.portal.account", "app.portal.invite"):
        monkeypatch.setattr(f"{module}.hash_password", _fast_hash)


@pytest.fixture(autouse=True)
def close_runtimes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every Runtime a test made (its apps', its workers'), as a process's are closed at its exit.

    An engine left to the garbage collector closes its pooled connections whenever GC runs, and
    psycopg's ResourceWarning (an error here) would then fail whichever later test was running.
    """
    made: list[Runtime] = []
    original = Runtime.__init__

    def tracked(self: Runtime, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Runtime, "__init__", tracked)
    yield
    for runtime in made:
        runtime.close()
