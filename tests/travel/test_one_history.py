"""The summary's 90-day history and the monthly report's are one figure: for the same organisation and the
same 90 days they are equal, day by day, in any time zone (both are `sync.reports.history`); and each day
counts what the definition says, read one day at a time (a property over random requests and zones)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.services.scope import visible_tickets
from app.services.summary import build_summary
from sync.models import User
from sync.reports.figures import Month, month_figures
from sync.reports.history import Window, days, midnight
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


_ZONES = [ZoneInfo("Europe/Moscow"), ZoneInfo("America/Los_Angeles"), ZoneInfo("Pacific/Chatham"), UTC]
_LAST_DAY = date(2026, 10, 31)
_moments = st.datetimes(min_value=datetime(2026, 6, 1), max_value=datetime(2026, 11, 30)).map(
    lambda moment: moment.replace(tzinfo=UTC))


@st.composite
def _span(draw: st.DrawFn) -> tuple[datetime, datetime | None]:
    created = draw(_moments)
    return created, draw(st.one_of(st.none(), _moments.filter(lambda done: done >= created)))


@settings(max_examples=60, deadline=None)
@given(spans=st.lists(_span(), max_size=40), zone=st.sampled_from(_ZONES))
def test_each_day_counts_what_a_day_by_day_reading_counts(spans: list[tuple[datetime, datetime | None]],
                                                          zone: Any) -> None:
    """`days` (fed as the statements feed it) against the definition read one day at a time."""
    window = Window(_LAST_DAY, zone)
    open_before = sum(1 for created, done in spans
                      if created < window.start and (done is None or done >= window.start))
    changed = [(c, d) for c, d in spans
               if c < window.end and (c >= window.start or (d is not None and d >= window.start))]
    got = days(window, open_before, changed)
    assert [day["date"] for day in got] == [(window.first_day + timedelta(days=n)).isoformat() for n in range(90)]
    for day in got:
        start = midnight(date.fromisoformat(day["date"]), zone)
        end = midnight(date.fromisoformat(day["date"]) + timedelta(days=1), zone)
        assert day["opened"] == sum(1 for c, _ in spans if start <= c < end)
        assert day["resolved"] == sum(1 for c, d in spans if d is not None and start <= d < end and c < window.end)
        assert day["open"] == sum(1 for c, d in spans if c < end and (d is None or d >= end))
