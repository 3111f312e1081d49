"""Indexes a migration adds to a big table without stopping writes to it.

A plain CREATE INDEX holds a lock that makes every INSERT and UPDATE of the table wait while it builds
(21–40 s for one index of a million tickets). On PostgreSQL, CREATE INDEX CONCURRENTLY lets them go on; it
cannot run inside a transaction, so it runs in Alembic's autocommit block (the migrations before it are
committed first). A concurrent build that failed half-way leaves an INVALID index with the name taken: it is
dropped and built again, so running the upgrade again finishes the job. SQLite builds them plainly (an
embedded install's table is small and its writers are few).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


def live_predicate(dialect: str) -> str:
    """The partial indexes' WHERE: live tickets, as each database writes `deleted IS false`."""
    return "deleted IS false" if dialect == "postgresql" else "deleted IS 0"


def _invalid(bind: Any, name: str) -> bool:
    return bind.execute(text("SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                             "WHERE c.relname = :name AND NOT i.indisvalid"), {"name": name}).first() is not None


def create_indexes(op: Any, table: str, indexes: dict[str, str], where: str | None = None,
                   using: str | None = None) -> None:
    """CREATE INDEX `name` ON `table` [USING `using`] (`columns`) [WHERE `where`] for each item, concurrently
    on PostgreSQL. `op` is the migration's `alembic.op`.
    """
    bind = op.get_bind()
    suffix = f" WHERE {where}" if where else ""
    table = f"{table} USING {using}" if using else table
    if bind.dialect.name != "postgresql":
        for name, columns in indexes.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){suffix}")
        return
    with op.get_context().autocommit_block():
        for name, columns in indexes.items():
            if _invalid(bind, name):
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({columns}){suffix}")


def drop_indexes(op: Any, names: list[str]) -> None:
    """DROP INDEX for each name, concurrently on PostgreSQL (writes to the table go on meanwhile)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for name in names:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        return
    with op.get_context().autocommit_block():
        for name in names:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def create_extension(op: Any, name: str) -> bool:
    """CREATE EXTENSION IF NOT EXISTS `name` on PostgreSQL; False (logged) where it is missing or not allowed.

    A trusted extension (pg_trgm is one) needs only the CREATE privilege on the database; an install without
    it still upgrades, and goes without what needs the extension.
    """
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    with op.get_context().autocommit_block():
        try:
            op.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
        except DBAPIError as exc:
            log.warning("extension %s not created, so the indexes that need it are left out: %s", name, exc)
            return False
    return True
