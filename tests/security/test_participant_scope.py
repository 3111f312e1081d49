"""The one scope rule with request participants, as a table, on SQLite and PostgreSQL.

A participant sees (and, when their role acts on their own requests, acts on) a request JSM lists them on,
whatever their organisation; everyone else's view is what it was: never another organisation's request.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from sync.models import Organization, Ticket, TicketParticipant, User
from sync.scope import actionable_condition, visible_anywhere, visible_condition, visible_parts

NOW = datetime(2026, 5, 1, tzinfo=UTC)
USERS = {  # email: role, organisation, JSM account
    "alice@a.test": ("customer", "a", "acc-alice"),
    "carl@a.test": ("customer", "a", "acc-carl"),
    "vera@a.test": ("org_viewer", "a", "acc-vera"),
    "ivan@b.test": ("customer", "b", "acc-ivan"),
    "olga@b.test": ("customer", "b", "acc-olga"),
    "boris@b.test": ("org_viewer", "b", "acc-boris"),
    "nora@x.test": ("customer", None, "acc-nora"),
    "root@x.test": ("admin", None, "acc-root"),
}
TICKETS = {  # key: organisation, reporter, participants, deleted
    "A-1": ("a", "alice@a.test", ["acc-carl", "acc-ivan", "acc-nora", "acc-root"], False),
    "A-2": ("a", "alice@a.test", [], False),
    "A-3": ("a", "carl@a.test", ["acc-ivan"], True),
    "B-1": ("b", "olga@b.test", ["acc-vera"], False),
    "B-2": ("b", "olga@b.test", [], False),
}
EXPECTED = {  # email: (mine, org or None when not offered, may act on)
    "alice@a.test": ({"A-1", "A-2"}, None, {"A-1", "A-2"}),
    "carl@a.test": ({"A-1"}, None, {"A-1"}),
    "vera@a.test": ({"B-1"}, {"A-1", "A-2", "B-1"}, set()),
    "ivan@b.test": ({"A-1"}, None, {"A-1"}),
    "olga@b.test": ({"B-1", "B-2"}, None, {"B-1", "B-2"}),
    "boris@b.test": (set(), {"B-1", "B-2"}, set()),
    "nora@x.test": ({"A-1"}, None, {"A-1"}),
    "root@x.test": ({"A-1"}, {"A-1", "A-2", "B-1", "B-2"}, {"A-1", "A-2", "B-1", "B-2"}),
}


@pytest.fixture
def seeded(any_database_url: str) -> str:
    engine = create_engine(any_database_url)
    with Session(engine) as db, db.begin():
        orgs = {slug: Organization(slug=slug, name=slug.upper()) for slug in ("a", "b")}
        db.add_all(orgs.values())
        db.flush()
        for email, (role, org, account) in USERS.items():
            db.add(User(email=email, role=role, organization_id=orgs[org].id if org else None,
                        jira_account_id=account))
        for n, (key, (org, reporter, accounts, deleted)) in enumerate(TICKETS.items(), start=1):
            db.add(Ticket(jira_id=str(n), key=key, project_key=key[0], organization_id=orgs[org].id,
                          reporter_email=reporter, customer_status="open", customer_priority="medium",
                          bucket="open", created_at=NOW, jira_updated_at=NOW, deleted=deleted,
                          participants=[TicketParticipant(account_id=a) for a in accounts]))
    engine.dispose()
    return any_database_url


def _keys(db: Session, condition: object) -> set[str]:
    return set(db.scalars(select(Ticket.key).where(condition)))  # type: ignore[arg-type]


@pytest.mark.parametrize("email", list(EXPECTED))
def test_participants_see_and_act_as_on_their_own_and_nobody_else_crosses(seeded: str, email: str) -> None:
    mine, org, acts = EXPECTED[email]
    engine = create_engine(seeded)
    with Session(engine) as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        assert _keys(db, visible_condition(user, "mine")) == mine
        if org is not None:
            assert _keys(db, visible_condition(user, "org")) == org
        assert _keys(db, visible_anywhere(user)) == (org if org is not None else mine)
        assert _keys(db, actionable_condition(user)) == acts
    engine.dispose()


@pytest.mark.parametrize("email", list(EXPECTED))
def test_the_scope_parts_are_the_scope_split_without_overlap(seeded: str, email: str) -> None:
    """The list reads `visible_parts` one by one and merges them: together they must be the scope, each
    ticket in one part only."""
    engine = create_engine(seeded)
    with Session(engine) as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        for scope in ("mine", "org"):
            if scope == "org" and EXPECTED[email][1] is None:
                continue
            parts = [_keys(db, part) for part in visible_parts(user, scope)]
            assert set().union(*parts) == _keys(db, visible_condition(user, scope))
            assert sum(len(part) for part in parts) == len(set().union(*parts))
        if email == "vera@a.test":  # takes part in B-1: her organisation's tickets, then B-1 alone
            assert [_keys(db, part) for part in visible_parts(user, "org")] == [{"A-1", "A-2"}, {"B-1"}]
    engine.dispose()


def test_removing_a_participant_ends_it_at_once(seeded: str) -> None:
    engine = create_engine(seeded)
    with Session(engine) as db, db.begin():
        ticket = db.scalars(select(Ticket).where(Ticket.key == "A-1")).one()
        ticket.participants = [p for p in ticket.participants if p.account_id != "acc-ivan"]
    with Session(engine) as db:
        ivan = db.scalars(select(User).where(User.email == "ivan@b.test")).one()
        assert _keys(db, visible_anywhere(ivan)) == set()
    engine.dispose()


def test_the_organisation_scope_pays_for_participants_only_when_they_reach_beyond_it(seeded: str) -> None:
    """Without a participation elsewhere the organisation's list keeps its plain, index-ordered condition;
    the participants' lookup is written so PostgreSQL probes the primary key with it (no scan under the OR)."""
    engine = create_engine(seeded)
    with Session(engine) as db:
        boris = db.scalars(select(User).where(User.email == "boris@b.test")).one()
        vera = db.scalars(select(User).where(User.email == "vera@a.test")).one()
        plain = str(visible_condition(boris, "org").compile(engine))
        reaching = str(visible_condition(vera, "org").compile(engine))
    engine.dispose()
    assert "ticket_participants" not in plain and "ticket_participants" in reaching
    if engine.dialect.name == "postgresql":
        assert "tickets.id = ANY(ARRAY(SELECT ticket_participants.ticket_id" in reaching
