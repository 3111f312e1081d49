"""The summary's 90-day history and the monthly report's are one figure: for the same organisation and the
same 90 days they are equal, day by day, in any time zone (both are `sync.reports.history`)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.services.scope import visible_tickets
from app.services.summary import build_summary
from sync.models import User
from sync.reports.figures import Month, month_figures
from sync.runtime import Runtime
from tests.conftest import make_settings
from tests.travel.report_seed import msk, seed_october


@pytest.fixture
def any_runtime(tmp_path: Any, any_database_url: str, redis_url: str) -> Any:
    runtime = Runtime(make_settings(tmp_path, any_database_url, redis_url))
    yield runtime
    runtime.close()


@pytest.mark.parametrize("zone_name", ["Europe/Moscow", "UTC"])
def test_the_summary_history_equals_the_reports_for_the_same_days(any_runtime: Any, zone_name: str) -> None:
    runtime = any_runtime
    orgs = seed_october(runtime)
    zone = ZoneInfo(zone_name)
    # The summary read late on 31 October: its 90 days are the report's for October.
    now = msk(10, 31, 23) if zone_name == "Europe/Moscow" else msk(10, 31, 23).astimezone(UTC)
    with runtime.sessions() as db:
        viewer = db.scalars(select(User).where(User.email == "viewer@acme.test")).one()
        summary = build_summary(db, visible_tickets(viewer, "org"), runtime.mapping, "en", zone, now=now)
        report = month_figures(db, runtime.mapping, orgs["acme"], Month(2026, 10), zone, now + timedelta(days=1))
    assert summary["history"] == report["history"]
    assert report["history"][-1]["date"] == "2026-10-31" and len(report["history"]) == 90
    # Not trivially equal: the days carry the seeded month (4 opened in Moscow; E opens on the 31st in UTC).
    assert sum(day["opened"] for day in report["history"]) == (5 if zone_name == "Europe/Moscow" else 6)
