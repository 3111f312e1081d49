"""Alembic migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from sync.db import alembic_config
from sync.models import Base

# Indexes on the bucket rank: PostgreSQL gives their CASE back with casts, SQLite not at all, so the text
# cannot be compared; tests/portal/test_list_at_scale.py shows both databases' plans use them instead.
RANK_INDEXES = {"ix_tickets_live_rank_updated", "ix_tickets_live_org_rank_updated", "ix_tickets_live_priority",
                "ix_tickets_live_status", "ix_tickets_live_rank_created", "ix_tickets_live_rank_resolved",
                "ix_tickets_live_rank_summary", "ix_tickets_live_rank_key", "ix_tickets_live_rank_type",
                "ix_tickets_live_rank_reporter", "ix_tickets_live_rank_assignee"}

# Trigram indexes for search: PostgreSQL with pg_trgm only, made by migration 0016 and not in the models.
TRIGRAM_INDEXES = {"ix_tickets_live_summary_trgm", "ix_tickets_live_key_trgm"}


def _compared(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    return not (kind == "index" and name in RANK_INDEXES | TRIGRAM_INDEXES)


# SQLite's expression indexes cannot be reflected (SQLAlchemy and Alembic say so); PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrated_schema_matches_the_models(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False, "include_object": _compared})
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
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == head
    engine.dispose()
