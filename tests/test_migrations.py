"""Alembic migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from sync.models import Base


def test_migrated_schema_matches_the_models(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert differences == [], f"models and migrations disagree: {differences}"
    assert {"tickets", "comments", "inbound_events", "outbox_actions", "mapping_versions", "users",
            "organizations", "api_tokens", "status_history", "sync_state", "alembic_version", "attachments",
            "policy_events", "ticket_slas"} <= tables


def test_db_upgrade_command_is_idempotent(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("COMPANION_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    engine = create_engine(url)
    with engine.connect() as conn:
        # The newest migration file's revision (numbered NNNN_name.py), so a new migration needs no edit here.
        newest = max(p.name[:4] for p in (Path(__file__).parent.parent / "migrations" / "versions").glob("[0-9]*.py"))
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == newest
    engine.dispose()
