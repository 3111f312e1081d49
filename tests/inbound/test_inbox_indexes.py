"""The inbox is looked up by state only through its partial indexes (pending, failed, ignored), and counted by state
without reading every row (migration 0018)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sync.inbound.claim import claim
from sync.inbound.health import _by_state
from sync.models import InboundEvent, utcnow
from tests.conftest import _empty_tables
from tests.plans import generic_plans


@pytest.fixture
def engine(any_database_url: str) -> Iterator[Engine]:
    engine = create_engine(any_database_url)
    yield engine
    engine.dispose()


def _fill(engine: Engine, counts: dict[str, int]) -> None:
    rows = [{"delivery_id": f"{state}-{i}", "webhook_event": "x", "payload": "{}", "state": state, "attempts": 0,
             "received_at": utcnow()} for state, n in counts.items() for i in range(n)]
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(InboundEvent), rows)


@pytest.mark.parametrize("counts", [
    {}, {"applied": 3}, {"pending": 2, "applied": 5}, {"pending": 1, "applied": 2, "ignored": 3, "failed": 4},
    {"failed": 1},
])
def test_counts_by_state_are_those_of_every_row(engine: Engine, counts: dict[str, int]) -> None:
    _fill(engine, counts)
    with Session(engine) as session:
        grouped = dict(session.execute(select(InboundEvent.state, func.count()).group_by(InboundEvent.state)).all())
        assert _by_state(session) == grouped == counts


def test_the_claim_the_sweeper_and_the_health_page_read_the_partial_indexes(postgres_url: str) -> None:
    _empty_tables(postgres_url)
    engine = create_engine(postgres_url)
    _fill(engine, {"applied": 20_000, "pending": 30, "failed": 10, "ignored": 10})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE inbound_events"))
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")) and "inbound_events" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    with Session(engine) as session, session.begin():
        assert len(claim(session, 200, count=False)) == 30
        _by_state(session)
    event.remove(engine, "before_cursor_execute", keep)
    plans = dict(zip((statement for statement, _ in seen), generic_plans(engine, seen), strict=True))
    claim_plan = next(p for s, p in plans.items() if "FOR UPDATE" in s)
    assert "ix_inbound_pending" in claim_plan, claim_plan
    counts_plan = next(p for s, p in plans.items() if "count" in s)
    for name in ("ix_inbound_pending", "ix_inbound_failed", "ix_inbound_ignored"):
        assert name in counts_plan, counts_plan
    engine.dispose()
