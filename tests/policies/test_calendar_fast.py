"""Working time counted from memoised per-day periods equals the day-by-day walk, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import WorkingCalendar

# Zones whose clocks jump in every way the walk has to follow: an hour each way (Berlin, New York), at
# midnight (Santiago, Havana, Beirut), by half an hour (Lord Howe), a standard offset that moved (Moscow
# 2011 and 2014), a whole skipped day (Apia, 30 December 2011), none at all (UTC, Kathmandu).
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "America/Havana", "Asia/Beirut",
         "Australia/Lord_Howe", "Europe/Moscow", "Pacific/Apia", "Asia/Kathmandu")
HOLIDAYS = (None, "RU", "US", "DE-BY", "GB")


def _clock(hour: int, minute: int, second: int) -> time:
    return time(hour, minute, second)


clocks = st.builds(_clock, st.integers(0, 23), st.sampled_from([0, 0, 15, 30, 59]), st.sampled_from([0, 0, 1, 59]))
calendars = st.builds(
    WorkingCalendar,
    timezone=st.sampled_from(ZONES),
    days=st.sets(st.integers(0, 6), min_size=1).map(lambda days: tuple(sorted(days))),
    opens=clocks,
    closes=st.one_of(st.none(), clocks),
    holidays=st.sampled_from(HOLIDAYS),
)
# Instants read in any of the zones (so they fall on their DST changes as often as anywhere), with
# microseconds; spans from nothing to beyond a year, and backwards.
instants = st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31),
                        timezones=st.sampled_from([ZoneInfo(z) for z in ZONES]), allow_imaginary=False)
spans = st.one_of(st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=10)),
                  st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)))


@settings(max_examples=600, deadline=None)
@given(calendars, instants, spans)
def test_working_time_equals_the_walk(cal: WorkingCalendar, start: datetime, span: timedelta) -> None:
    assert cal.working_time(start, start + span) == cal.walked_working_time(start, start + span)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, instants)
def test_working_time_equals_the_walk_between_any_two_instants(cal: WorkingCalendar, a: datetime,
                                                                b: datetime) -> None:
    assert cal.working_time(a, b) == cal.walked_working_time(a, b)


def _at(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]


ALWAYS_BERLIN = WorkingCalendar("Europe/Berlin")
NIGHT_SHIFT = WorkingCalendar("Europe/Berlin", opens=time(1, 0), closes=time(4, 0))
FOLD_SHIFT = WorkingCalendar("Europe/Berlin", opens=time(2, 0), closes=time(3, 0))
ALWAYS_SANTIAGO = WorkingCalendar("America/Santiago")
ALWAYS_APIA = WorkingCalendar("Pacific/Apia")
ALWAYS_LORD_HOWE = WorkingCalendar("Australia/Lord_Howe")
# Apia's skipped 30 December 2011 read at the old offset is the 31st's 09:00–17:00: the two periods are one
# (the walk counts it twice; counting by bisection would not, so such a table is clipped day by day).
OFFICE_APIA = WorkingCalendar("Pacific/Apia", opens=time(9, 0), closes=time(17, 0))
# Every day off but one Monday a year, roughly: the walk gives up after `_MAX_DAYS_AHEAD` days.
MONDAYS = WorkingCalendar("UTC", days=(0,), opens=time(9, 0), closes=time(10, 0))


@pytest.mark.parametrize(("cal", "start", "end", "expected"), [
    # Berlin springs forward on 30 March 2025 (a 23-hour day) and falls back on 26 October (25 hours).
    (ALWAYS_BERLIN, _at("Europe/Berlin", 2025, 3, 30), _at("Europe/Berlin", 2025, 3, 31), timedelta(hours=23)),
    (ALWAYS_BERLIN, _at("Europe/Berlin", 2025, 10, 26), _at("Europe/Berlin", 2025, 10, 27), timedelta(hours=25)),
    # 01:00 CET → 04:00 CEST on the spring day: two real hours.
    (NIGHT_SHIFT, _at("Europe/Berlin", 2025, 3, 30), _at("Europe/Berlin", 2025, 3, 31), timedelta(hours=2)),
    # 02:00 (the first, summer-time one) → 03:00 CET on the autumn day: two real hours.
    (FOLD_SHIFT, _at("Europe/Berlin", 2025, 10, 26), _at("Europe/Berlin", 2025, 10, 27), timedelta(hours=2)),
    # From inside the repeated hour's second pass (02:30 CET) to its end.
    (FOLD_SHIFT, _at("Europe/Berlin", 2025, 10, 26, 2, 30, fold=1), _at("Europe/Berlin", 2025, 10, 27),
     timedelta(minutes=30)),
    # Santiago's clocks jump at midnight (00:00 → 01:00 on 7 September 2025): a 23-hour day.
    (ALWAYS_SANTIAGO, _at("America/Santiago", 2025, 9, 6), _at("America/Santiago", 2025, 9, 8),
     timedelta(hours=47)),
    # Lord Howe moves by half an hour (02:00 → 01:30 on 6 April 2025).
    (ALWAYS_LORD_HOWE, _at("Australia/Lord_Howe", 2025, 4, 6), _at("Australia/Lord_Howe", 2025, 4, 7),
     timedelta(hours=24, minutes=30)),
    # Apia skipped 30 December 2011: from the 29th to 1 January is two real days.
    (ALWAYS_APIA, _at("Pacific/Apia", 2011, 12, 29), _at("Pacific/Apia", 2012, 1, 1), timedelta(hours=48)),
    (OFFICE_APIA, _at("Pacific/Apia", 2011, 12, 29), _at("Pacific/Apia", 2012, 1, 1), timedelta(hours=24)),
    (OFFICE_APIA, _at("Pacific/Apia", 2011, 12, 29), _at("Pacific/Apia", 2011, 12, 31, 12), timedelta(hours=14)),
    # Past the walk's look-ahead nothing more is counted, by either.
    (MONDAYS, datetime(2020, 1, 1, tzinfo=UTC), datetime(2035, 1, 1, tzinfo=UTC),
     MONDAYS.walked_working_time(datetime(2020, 1, 1, tzinfo=UTC), datetime(2035, 1, 1, tzinfo=UTC))),
])
def test_dst_edges(cal: WorkingCalendar, start: datetime, end: datetime, expected: timedelta) -> None:
    assert cal.walked_working_time(start, end) == expected
    assert cal.working_time(start, end) == expected
