"""A reconcile filling the store refreshes the planner's statistics as the tables grow (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

from sync.inbound.grown_tables import GrowthAnalyzer
from sync.models import Ticket, utcnow
from tests.conftest import _empty_tables, make_settings


@pytest.fixture
def runtime(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Any]:
    from sync.runtime import Runtime

    _empty_tables(postgres_url)
    runtime = Runtime(make_settings(tmp_path, postgres_url, redis_url))
    with runtime.engine.begin() as conn:
        conn.execute(text("ANALYZE tickets"))  # as a fresh install's migrations leave it: analysed empty
    yield runtime
    runtime.close()


def _add_tickets(runtime: Any, first: int, count: int) -> None:
    now = utcnow()
    with runtime.engine.begin() as conn:
        conn.execute(insert(Ticket), [{"jira_id": str(n), "key": f"SUP-{n}", "project_key": "SUP", "summary": "s",
                                       "created_at": now, "jira_updated_at": now, "customer_status": "open",
                                       "customer_priority": "medium", "bucket": "open"}
                                      for n in range(first, first + count)])


def _planned_rows(runtime: Any) -> float:
    with runtime.engine.connect() as conn:
        return float(conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'tickets'")).scalar_one())


def test_the_tables_are_analysed_once_the_run_wrote_100_rows_then_each_time_its_writes_doubled(runtime: Any) -> None:
    grown = GrowthAnalyzer(runtime)
    _add_tickets(runtime, 1, 60)
    grown.wrote(60)
    assert (grown.analysed, _planned_rows(runtime)) == (0, 0)  # under the first threshold: not yet
    _add_tickets(runtime, 61, 50)
    grown.wrote(50)
    assert (grown.analysed, _planned_rows(runtime)) == (1, 110)  # 110 written: analysed, next at 220
    _add_tickets(runtime, 111, 100)
    grown.wrote(100)
    assert (grown.analysed, _planned_rows(runtime)) == (1, 110)  # 210 < 220
    _add_tickets(runtime, 211, 20)
    grown.wrote(20)
    assert (grown.analysed, _planned_rows(runtime)) == (2, 230)

