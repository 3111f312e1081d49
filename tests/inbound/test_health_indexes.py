"""The sync-health snapshot and each /metrics scrape count tickets through partial indexes (migration 0019): the
same numbers as reading every ticket, and on PostgreSQL plans that read the indexes, not the table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.metrics import fell_back_count
from sync.inbound.health import live_tickets_by_project
from sync.models import Ticket
from tests.conftest import _empty_tables
from tests.plans import generic_plans

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(any_database_url: str) -> Iterator[Engine]:
    engine = create_engine(any_database_url)
    yield engine
    engine.dispose()


def _ticket(n: int, project: str, minutes: int, deleted: bool = False, fell_back: bool = False) -> dict[str, Any]:
    return {"id": n, "jira_id": str(10_000 + n), "key": f"{project}-{n}", "project_key": project,
            "customer_status": "open", "customer_priority": "normal", "bucket": "open", "created_at": START,
            "jira_updated_at": START + timedelta(minutes=minutes), "deleted": deleted, "status_fell_back": fell_back}


def _fill(engine: Engine, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(Ticket), rows)


# (project, minutes after START, deleted, status fell back) per ticket
CASES = [
    [],
    [("SUP", 5, False, False)],
    [("SUP", 5, True, True)],
    [("SUP", 5, False, False), ("SUP", 9, False, True), ("SUP", 30, True, False), ("HR", 1, False, True)],
    [("A", 3, True, False), ("A", 2, False, False), ("B", 7, False, False), ("B", 8, True, True),
     ("C", 4, True, False), ("C", 6, False, True), ("C", 6, False, True)],
]


def _check_against_every_row(engine: Engine, tickets: list[tuple[str, int, bool, bool]]) -> None:
    _fill(engine, [_ticket(n, *ticket) for n, ticket in enumerate(tickets, start=1)])
    live = [(project, START + timedelta(minutes=m), fell) for project, m, deleted, fell in tickets if not deleted]
    counts = Counter(project for project, _, _ in live)
    newest = {project: max(at for p, at, _ in live if p == project) for project in counts}
    with Session(engine) as session:
        found = {p: (at.astimezone(UTC), n) for p, (at, n) in live_tickets_by_project(session).items()}
        assert found == {project: (newest[project], counts[project]) for project in counts}
        assert fell_back_count(session) == sum(1 for _, _, fell in live if fell)


@pytest.mark.parametrize("tickets", CASES)
def test_counts_and_newest_updates_are_those_of_every_live_ticket(
        engine: Engine, tickets: list[tuple[str, int, bool, bool]]) -> None:
    _check_against_every_row(engine, tickets)


TICKETS = st.lists(st.tuples(st.sampled_from(["SUP", "HR", "IT"]), st.integers(0, 50), st.booleans(), st.booleans()),
                   max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tickets=TICKETS)
def test_any_tickets_are_counted_as_every_row_says(sqlite_url: str, tickets: list[tuple[str, int, bool, bool]]) -> None:
    _empty_tables(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        _check_against_every_row(engine, tickets)
    finally:
        engine.dispose()


def test_the_per_project_and_fell_back_counts_read_their_indexes_only(postgres_url: str) -> None:
    _empty_tables(postgres_url)
    engine = create_engine(postgres_url)
    # Many live tickets in a few projects, some deleted, a few fallen back, each with a subject and a text as a
    # request has (the planner weighs reading the narrow index against reading the rows, not rules).
    _fill(engine, [{**_ticket(n, ("SUP", "HR", "IT")[n % 3], n % 5000, deleted=n % 10 == 0, fell_back=n % 500 == 1),
                    "summary": f"Request {n} about the printer on the third floor", "description": "Steps… " * 40}
                   for n in range(1, 30_001)])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE tickets"))  # as autovacuum keeps it: index-only scans need the map
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "tickets" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    with Session(engine) as session:
        assert sum(n for _, n in live_tickets_by_project(session).values()) == 27_000
        assert fell_back_count(session) == 60
    event.remove(engine, "before_cursor_execute", keep)
    per_project, fell_back = generic_plans(engine, seen)
    assert "Index Only Scan using ix_tickets_live_project_updated" in per_project, per_project
    assert "Seq Scan" not in per_project and "Sort" not in per_project, per_project
    assert "ix_tickets_live_fell_back" in fell_back and "Seq Scan" not in fell_back, fell_back
    engine.dispose()
