"""Upgrading to permissions-as-data changes nothing anyone sees: the same tickets in every scope."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app.services.scope import SCOPES, ScopeError, visible_tickets
from sync.db import alembic_config, upgrade
from sync.models import User

USERS = [  # email, role, org, group_name
    ("cust@a.test", "customer", 1, None),
    ("mate@a.test", "customer", 1, "ops"),
    ("lead@a.test", "group_lead", 1, "ops"),
    ("view@a.test", "org_viewer", 1, None),
    ("other@b.test", "customer", 2, "ops"),
    ("root@x.test", "admin", None, None),
]


def _seed_0003(url: str) -> None:
    engine = create_engine(url)
    now = datetime(2024, 5, 1, tzinfo=UTC).isoformat()
    with engine.begin() as conn:
        for org_id, slug in ((1, "a"), (2, "b")):
            conn.execute(text("INSERT INTO organizations (id, slug, name, created_at) VALUES (:i, :s, :s, :t)"),
                         {"i": org_id, "s": slug, "t": now})
        for n, (email, role, org, group) in enumerate(USERS, start=1):
            conn.execute(text("INSERT INTO users (id, email, name, role, organization_id, group_name, "
                              "must_change_password, active, created_at) "
                              "VALUES (:i, :e, '', :r, :o, :g, false, true, :t)"),
                         {"i": n, "e": email, "r": role, "o": org, "g": group, "t": now})
        tickets = [("A-1", 1, "cust@a.test", "open"), ("A-2", 1, "mate@a.test", "open"),
                   ("A-3", 1, "mate@a.test", "resolved"), ("A-4", 1, "lead@a.test", "open"),
                   ("B-1", 2, "other@b.test", "open")]
        for n, (key, org, reporter, bucket) in enumerate(tickets, start=1):
            conn.execute(text(
                "INSERT INTO tickets (id, jira_id, key, project_key, summary, organization_id, reporter_email, "
                "participant_account_ids, customer_status, customer_priority, bucket, status_fell_back, "
                "created_at, jira_updated_at, deleted, last_synced_at) VALUES (:i, :j, :k, 'P', 's', :o, :r, "
                "'[]', 'open', 'medium', :b, false, :t, :t, false, :t)"),
                {"i": n, "j": str(n), "k": key, "o": org, "r": reporter, "b": bucket, "t": now})
    engine.dispose()


def _old_rules(email: str, role: str, org: int | None, group: str | None, scope: str) -> set[str] | None:
    """What the pre-upgrade scope helper answered, written out as a table (None: scope not offered)."""
    offered = {"admin": SCOPES, "group_lead": SCOPES, "org_viewer": ("mine", "org")}.get(role, ("mine",))
    if scope not in offered:
        return None
    rows = [("A-1", 1, "cust@a.test", "open"), ("A-2", 1, "mate@a.test", "open"),
            ("A-3", 1, "mate@a.test", "resolved"), ("A-4", 1, "lead@a.test", "open"),
            ("B-1", 2, "other@b.test", "open")]
    groups = {u[0]: (u[2], u[3]) for u in USERS}
    if role == "admin":
        return {r[0] for r in rows if scope != "mine" or r[2] == email}
    rows = [r for r in rows if r[1] == org]
    if scope == "mine":
        return {r[0] for r in rows if r[2] == email}
    if scope == "group":
        return {r[0] for r in rows if group and groups[r[2]] == (org, group) and r[3] == "open"}
    return {r[0] for r in rows}


@pytest.fixture
def old_database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    _seed_0003(url)
    upgrade(url, "head")
    return url


def test_every_user_sees_the_same_tickets_after_the_upgrade(old_database: str) -> None:
    engine = create_engine(old_database)
    with Session(engine) as db:
        for email, role, org, group in USERS:
            user = db.scalars(select(User).where(User.email == email)).one()
            for scope in SCOPES:
                expected = _old_rules(email, role, org, group, scope)
                try:
                    seen = {t.key for t in db.scalars(visible_tickets(user, scope))}
                except ScopeError:
                    seen = None
                assert seen == expected, f"{email} in scope {scope}"
    engine.dispose()


def test_group_names_became_groups_with_their_members(old_database: str) -> None:
    engine = create_engine(old_database)
    with Session(engine) as db:
        lead = db.scalars(select(User).where(User.email == "lead@a.test")).one()
        assert [g.name for g in lead.groups] == ["ops"]
        assert sorted(u.email for u in lead.groups[0].members) == ["lead@a.test", "mate@a.test"]
        other = db.scalars(select(User).where(User.email == "other@b.test")).one()
        assert other.groups[0].id != lead.groups[0].id  # same name, another organisation: another group
    engine.dispose()


def test_downgrade_restores_group_names(old_database: str) -> None:
    command.downgrade(alembic_config(old_database), "0003")
    engine = create_engine(old_database)
    with engine.connect() as conn:
        names = dict(conn.execute(text("SELECT email, group_name FROM users")).all())
    engine.dispose()
    assert names["lead@a.test"] == "ops" and names["cust@a.test"] is None
