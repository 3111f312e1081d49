"""Working-time arithmetic of the support calendar: table tests on known dates, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import WorkingCalendar

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
# Roistat (004): 10–19 Moscow time, Monday to Friday, Russian public holidays off.
ROISTAT = WorkingCalendar.from_texts("Europe/Moscow", ["mon", "tue", "wed", "thu", "fri"], ["10:00", "19:00"], "RU")
NIGHTS = WorkingCalendar.from_texts("Europe/Berlin", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                    ["00:00", "24:00"], None)


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)  # type: ignore[misc]


@pytest.mark.parametrize(("start", "end", "hours"), [
    # Inside one working day.
    (msk(2025, 3, 4, 11, 0), msk(2025, 3, 4, 13, 30), 2.5),
    # A rule that starts outside hours (07:00) counts from the opening at 10:00.
    (msk(2025, 3, 4, 7, 0), msk(2025, 3, 4, 12, 0), 2.0),
    # Started in the evening, after closing: nothing until the next morning.
    (msk(2025, 3, 4, 21, 0), msk(2025, 3, 5, 9, 59), 0.0),
    # Across midnight: 18:00–19:00 and 10:00–11:00.
    (msk(2025, 3, 4, 18, 0), msk(2025, 3, 5, 11, 0), 2.0),
    # A weekend does not count: Friday 18:00 → Monday 11:00 is two working hours.
    (msk(2025, 3, 7, 18, 0), msk(2025, 3, 10, 11, 0), 2.0),
    # Russian New Year holidays (1–8 January 2025) and the days off moved to 30–31 December: only
    # Friday 27 December 18:00–19:00 counts.
    (msk(2024, 12, 27, 18, 0), msk(2025, 1, 9, 10, 0), 1.0),
    # 8 May 2025 (a day off moved from 23 February) and Victory Day, Friday 9 May: nothing counts.
    (msk(2025, 5, 7, 18, 0), msk(2025, 5, 12, 11, 0), 2.0),
    # A full working week is 45 hours.
    (msk(2025, 3, 3, 0, 0), msk(2025, 3, 10, 0, 0), 45.0),
    # End before start: zero.
    (msk(2025, 3, 4, 12, 0), msk(2025, 3, 4, 11, 0), 0.0),
])
def test_working_hours(start: datetime, end: datetime, hours: float) -> None:
    assert ROISTAT.working_hours(start, end) == pytest.approx(hours)


@pytest.mark.parametrize(("start", "hours", "due"), [
    # SupPortal (002): 40 working hours from Monday 10:00 end on Friday 14:00.
    (msk(2025, 3, 3, 10, 0), 40, msk(2025, 3, 7, 14, 0)),
    # From Friday 18:00, 32 hours run through the next week (1 + 9·3 + 4): Thursday 14:00.
    (msk(2025, 3, 7, 18, 0), 32, msk(2025, 3, 13, 14, 0)),
    # Started on a holiday (9 May 2025, Friday): the clock starts on Monday at 10:00.
    (msk(2025, 5, 9, 12, 0), 1, msk(2025, 5, 12, 11, 0)),
    # Exactly at closing: the next opening.
    (msk(2025, 3, 4, 10, 0), 9, msk(2025, 3, 4, 19, 0)),
    (msk(2025, 3, 4, 19, 0), 0.5, msk(2025, 3, 5, 10, 30)),
])
def test_add_working_hours(start: datetime, hours: float, due: datetime) -> None:
    assert ROISTAT.add_working_hours(start, hours) == due


def test_dst_days_are_as_long_as_the_wall_clock_says() -> None:
    # Berlin springs forward on 30 March 2025 (23-hour day) and falls back on 26 October 2025 (25 hours).
    spring = datetime(2025, 3, 30, tzinfo=BERLIN)
    autumn = datetime(2025, 10, 26, tzinfo=BERLIN)
    assert NIGHTS.working_hours(spring, spring + timedelta(days=1)) == pytest.approx(23)
    assert NIGHTS.working_hours(autumn, datetime(2025, 10, 27, tzinfo=BERLIN)) == pytest.approx(25)
    office = WorkingCalendar.from_texts("Europe/Berlin", ["sun"], ["01:00", "04:00"], None)
    # 01:00 CET → 04:00 CEST is two real hours on the spring day.
    assert office.working_hours(spring, spring + timedelta(days=1)) == pytest.approx(2)


def test_open_now_and_next_change() -> None:
    assert ROISTAT.is_open(msk(2025, 3, 4, 10, 0))
    assert not ROISTAT.is_open(msk(2025, 3, 4, 19, 0))
    assert not ROISTAT.is_open(msk(2025, 5, 9, 12, 0))  # Victory Day
    assert ROISTAT.next_change(msk(2025, 3, 4, 12, 0)) == msk(2025, 3, 4, 19, 0)
    assert ROISTAT.next_change(msk(2025, 3, 7, 20, 0)) == msk(2025, 3, 10, 10, 0)


def test_no_calendar_counts_every_hour() -> None:
    always = WorkingCalendar()
    start = datetime(2025, 3, 1, 5, 17, tzinfo=UTC)
    assert always.always and always.working_hours(start, start + timedelta(hours=50)) == pytest.approx(50)


def test_a_calendar_with_no_working_time_never_reaches_a_goal() -> None:
    never = WorkingCalendar.from_texts("UTC", ["sat"], ["10:00", "11:00"], None)
    # Bounded look-ahead: returns a time (a Saturday) rather than looping; a weekday-only span has none.
    assert never.working_hours(datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC)) == 0
    assert never.add_working_hours(datetime(2025, 3, 3, tzinfo=UTC), 1) == datetime(2025, 3, 8, 11, tzinfo=UTC)


# ------------------------------------------------------------------ properties
instants = st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))
calendars = st.sampled_from([ROISTAT, NIGHTS, WorkingCalendar.from_texts(
    "America/New_York", ["mon", "wed", "sat"], ["08:30", "17:15"], "US")])


@settings(max_examples=150, deadline=None)
@given(calendars, instants, instants, instants)
def test_working_time_adds_up_and_never_exceeds_wall_time(cal: WorkingCalendar, a: datetime, b: datetime,
                                                          c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    ab, bc, ac = cal.working_seconds(a, b), cal.working_seconds(b, c), cal.working_seconds(a, c)
    assert ab + bc == pytest.approx(ac, abs=1e-6)
    assert 0 <= ac <= (c - a).total_seconds()


@settings(max_examples=150, deadline=None)
@given(calendars, instants, st.floats(min_value=0.01, max_value=200))
def test_adding_working_hours_is_the_inverse_of_counting_them(cal: WorkingCalendar, start: datetime,
                                                             hours: float) -> None:
    due = cal.add_working_hours(start, hours)
    assert due is not None
    assert cal.working_hours(start, due) == pytest.approx(hours, abs=1e-6)
    # The goal is reached during working time (or at a closing instant), never in the middle of a night.
    assert cal.is_open(due - timedelta(microseconds=1))


@settings(max_examples=100, deadline=None)
@given(instants, st.integers(min_value=0, max_value=23), st.integers(min_value=1, max_value=72))
def test_holidays_and_weekends_add_nothing(start: datetime, _hour: int, span: int) -> None:
    for moment in (start + timedelta(hours=h) for h in range(0, span, 7)):
        local = moment.astimezone(MSK)
        if not ROISTAT.is_working_day(local.date()):
            day_start = datetime.combine(local.date(), datetime.min.time(), MSK)
            assert ROISTAT.working_seconds(day_start, day_start + timedelta(days=1)) == 0
