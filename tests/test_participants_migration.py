"""Migration 0012 moves each ticket's JSON participant list into `ticket_participants`, and back on downgrade."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, make_url, text

from sync.db import alembic_config, upgrade
from tests.conftest import NO_PG_REASON

STORED = {  # ticket id → the JSON list 0011 held (duplicates, junk and empties included, as old rows may)
    1: ["acc-maria", "acc-ivan"],
    2: [],
    3: ["acc-ivan", "acc-ivan", "", None, 7, "x" * 200],
    4: ["acc-carl"],
}
WANTED = {(1, "acc-maria"), (1, "acc-ivan"), (3, "acc-ivan"), (4, "acc-carl")}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own (migrations run down and up on it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(NO_PG_REASON)
    base_url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"companion_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _seed_0011(url: str) -> None:
    engine = create_engine(url)
    now = datetime(2026, 5, 1, tzinfo=UTC).isoformat()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organizations (id, slug, name, created_at, share_with_subjects, "
                          "share_access_count) VALUES (1, 'acme', 'Acme', :t, false, 0)"), {"t": now})
        for ticket_id, accounts in STORED.items():
            conn.execute(text(
                "INSERT INTO tickets (id, jira_id, key, project_key, summary, organization_id, reporter_email, "
                "participant_account_ids, customer_status, customer_priority, bucket, status_fell_back, "
                "created_at, jira_updated_at, deleted, last_synced_at) VALUES (:i, :j, :k, 'SUP', 's', 1, "
                "'alice@acme.test', :p, 'open', 'medium', 'open', false, :t, :t, false, :t)"),
                {"i": ticket_id, "j": str(ticket_id), "k": f"SUP-{ticket_id}", "p": json.dumps(accounts), "t": now})
    engine.dispose()


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text(sql))]
    engine.dispose()
    return rows


def test_backfill_moves_every_listed_participant_and_drops_the_json_column(fresh_url: str) -> None:
    upgrade(fresh_url, "0011")
    _seed_0011(fresh_url)
    upgrade(fresh_url, "0012")
    assert set(_rows(fresh_url, "SELECT ticket_id, account_id FROM ticket_participants")) == WANTED
    engine = create_engine(fresh_url)
    columns = {c["name"] for c in inspect(engine).get_columns("tickets")}
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("ticket_participants")}
    engine.dispose()
    assert "participant_account_ids" not in columns  # one record of participants: the table
    assert indexes["ix_ticket_participants_account"] == ["account_id", "ticket_id"]

    command.downgrade(alembic_config(fresh_url), "0011")
    back = {ticket_id: json.loads(raw) if isinstance(raw, str) else raw
            for ticket_id, raw in _rows(fresh_url, "SELECT id, participant_account_ids FROM tickets")}
    assert back == {1: ["acc-ivan", "acc-maria"], 2: [], 3: ["acc-ivan"], 4: ["acc-carl"]}
