"""A batch's rows written as one document (PostgreSQL) or row by row (SQLite) read back exactly as written."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sync.inbound.rows import COMMENT_READ, TICKET_READ, CommentRow, HistoryRow, TicketRow, comment_row, ticket_row
from sync.inbound.sql import json_rows
from sync.inbound.write import HISTORY, write_comments, write_history, write_tickets

JIRA_IDS = itertools.count(1)

# Text as JSM may send it: any character PostgreSQL text can hold (no NUL, no lone surrogate).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
# Times to the microsecond, in any offset: the store keeps the instant.
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-9, minutes=-30))])
TIMES = st.builds(lambda t, zone: t.replace(tzinfo=UTC).astimezone(zone),
                  st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)), ZONES)


def _short(size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=size)


@pytest.fixture
def engine(any_database_url: str) -> Iterator[Engine]:
    engine = create_engine(any_database_url)
    yield engine
    engine.dispose()


@st.composite
def ticket_rows(draw: st.DrawFn) -> TicketRow:
    jira_id = str(next(JIRA_IDS))
    return TicketRow(
        jira_id=jira_id, key=f"SUP-{jira_id}", created_at=draw(TIMES),
        jira_updated_at=draw(TIMES), project_key=draw(_short(32)), summary=draw(TEXT),
        description=draw(st.none() | TEXT), request_type_id=draw(st.none() | _short(32)),
        request_type_name=draw(st.none() | _short(255)), reporter_name=draw(st.none() | _short(255)),
        reporter_email=draw(st.none() | _short(255)), jira_status_name=draw(st.none() | _short(255)),
        customer_status=draw(_short(64)), bucket=draw(_short(16)), status_fell_back=draw(st.booleans()),
        resolved_at=draw(st.none() | TIMES), first_response_at=draw(st.none() | TIMES), last_synced_at=draw(TIMES))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ticket_rows(), min_size=1, max_size=6))
def test_tickets_written_together_read_back_as_written(engine: Engine, rows: list[TicketRow]) -> None:
    with Session(engine) as session, session.begin():
        write_tickets(session, rows)
        stored = {r.jira_id: r for r in map(ticket_row, session.connection().execute(
            select(*TICKET_READ).where(TICKET_READ[1].in_([r.jira_id for r in rows]))).all())}
    assert {r.jira_id for r in rows} == set(stored)
    for row in rows:
        assert stored[row.jira_id].values() == row.values()  # times compare as instants
        assert stored[row.jira_id].id == row.id  # a new ticket got the id it was stored under


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(st.tuples(TEXT, st.none() | st.booleans(), TIMES), min_size=1, max_size=5))
def test_comments_and_history_written_together_read_back_as_written(
        engine: Engine, bodies: list[tuple[str, bool | None, datetime]]) -> None:
    jira_id = str(next(JIRA_IDS))
    ticket = TicketRow(jira_id=jira_id, key=f"SUP-{jira_id}", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                       jira_updated_at=datetime(2026, 1, 1, tzinfo=UTC), customer_status="open")
    comments = [CommentRow(ticket_id=None, ticket=ticket, jira_id=str(next(JIRA_IDS)), created_at=at, updated_at=at,
                           body=body, public=public, author_name="Agent") for body, public, at in bodies]
    history = [HistoryRow(ticket, status, None, at, f"c{i}", first=True) for i, (status, _, at) in enumerate(bodies)]
    with Session(engine) as session, session.begin():
        write_tickets(session, [ticket])
        write_comments(session, comments)
        write_history(session, history)
        listed = [c.jira_id for c in comments]
        stored = {r.jira_id: r for r in map(comment_row, session.connection().execute(
            select(*COMMENT_READ).where(COMMENT_READ[2].in_(listed))))}
        entries = session.connection().execute(select(HISTORY.c.customer_status, HISTORY.c.at, HISTORY.c.changelog_id)
                                               .where(HISTORY.c.ticket_id == ticket.id)).all()
    for comment in comments:
        assert stored[comment.jira_id].values() == comment.values()  # `public` never said: stored internal
        assert stored[comment.jira_id].public is bool(comment.public)
    assert sorted(entries, key=lambda e: e[2]) == sorted(((h.customer_status, h.at, h.changelog_id) for h in history),
                                                         key=lambda e: e[2])


@pytest.mark.parametrize(("value", "written"), [
    (datetime(2026, 1, 1, 10, 0, 0, 1, tzinfo=UTC), '"2026-01-01T10:00:00.000001+00:00"'),
    (datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=3))), '"2026-01-01T13:00:00+03:00"'),
    (datetime(2026, 1, 1, 10, 0), '"2026-01-01T10:00:00+00:00"'),  # naive: UTC, as the store reads such times
    ('quote " backslash \\ newline \n', '"quote \\" backslash \\\\ newline \\n"'),
    (None, "null"), (True, "true"), (7, "7"),
])
def test_each_value_is_written_as_postgresql_reads_it_back(value: Any, written: str) -> None:
    assert json_rows(("a",), [(value,)]) == f'[{{"a":{written}}}]'


def test_no_rows_make_an_empty_document() -> None:
    assert json_rows(("a", "b"), []) == "[]"
