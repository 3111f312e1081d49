"""Database engine and sessions; migrations through Alembic."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import Text

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the dialect: SQLite gets WAL and a busy timeout so processes can share it."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # The owner alone reads the database (SQLite gives its -wal and -shm files the same mode).
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # SQLite's lower() and LIKE fold ASCII only ("Выгрузку" would not find "выгрузку"); Python's
            # str.lower is Unicode lower-casing like PostgreSQL's lower() in a UTF-8 database.
            dbapi_conn.create_function("companion_fold", 1, _fold, deterministic=True)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class unicode_fold(GenericFunction[str]):
    """Lower-cased text for case-insensitive search in every database: `lower()` on PostgreSQL (Unicode-aware
    in a UTF-8 database), the registered `companion_fold` (Python's str.lower) on SQLite."""

    type = Text()
    inherit_cache = True


@compiles(unicode_fold)
def _fold_default(element: Any, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_fold, "sqlite")
def _fold_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"companion_fold({compiler.process(element.clauses, **kw)})"


def fold_text(text: str) -> str:
    """`text` lower-cased the way `unicode_fold` lower-cases a column (the search needle's side)."""
    return text.lower()


def insert_skipping_duplicates(dialect: str, model: Any, unique: list[str]) -> Any | None:
    """`INSERT … ON CONFLICT (unique) DO NOTHING` into `model` for the dialect named `dialect`, or None where
    the dialect has no such clause. A row that conflicts is skipped, not an error: a concurrent writer that
    stored it first wins, and on SQLite no savepoint is needed (pysqlite's RELEASE would commit the caller's
    transaction early)."""
    make: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    return make(model).on_conflict_do_nothing(index_elements=unique) if make is not None else None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Any:
    """The Alembic configuration for this project's migrations against `url`."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    from alembic import command

    make_engine(url).dispose()  # creates the SQLite directory if needed
    command.upgrade(alembic_config(url), revision)
