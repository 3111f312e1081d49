"""Working-time arithmetic on a support calendar: time zone, working days, daily hours, public holidays.

Pure (no I/O): the calendar is part of the mapping document, so it is versioned, previewed and rolled back
with it. Public holidays come from the `holidays` library (data shipped with the package). Every instant
given or returned is an aware datetime; working periods are built as local wall times of each day and
converted to UTC, so a DST change shortens or lengthens that day's period as the clock on the wall does.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Looking further than this for the next working minute means the calendar has none (every day a holiday).
_MAX_DAYS_AHEAD = 3660


def parse_clock(text: str) -> time | None:
    """"HH:MM" → time; "24:00" → None (the end of the day). Raises ValueError on anything else."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"{text!r} is not HH:MM")
    h, m = int(hours), int(minutes)
    if (h, m) == (24, 0):
        return None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{text!r} is not a time of day")
    return time(h, m)


@functools.cache
def _holidays_of(country: str) -> holidays.HolidayBase:
    code, _, subdivision = country.partition("-")
    return holidays.country_holidays(code, subdiv=subdivision or None)


def known_holiday_calendar(country: str) -> bool:
    """Whether the `holidays` library knows this country code (optionally `CC-SUBDIV`)."""
    try:
        _holidays_of(country)
    except (NotImplementedError, KeyError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class WorkingCalendar:
    """When support works; `working_hours` and `add_working_hours` count only that time."""

    timezone: str = "UTC"
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # weekday numbers, Monday = 0
    opens: time = time(0, 0)
    closes: time | None = None  # None: the end of the day (24:00)
    holidays: str | None = None  # a `holidays` country code such as "RU", or "CC-SUBDIV"

    @classmethod
    def from_texts(cls, timezone: str, days: list[str], hours: list[str], holiday_country: str | None
                   ) -> WorkingCalendar:
        """Build from the mapping YAML's words ("Europe/Moscow", ["mon", ...], ["10:00", "19:00"], "RU")."""
        opens = parse_clock(hours[0]) or time(0, 0)
        return cls(timezone, tuple(sorted({DAY_NAMES.index(d) for d in days})), opens, parse_clock(hours[1]),
                   holiday_country or None)

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def always(self) -> bool:
        """Every minute of every day counts (no calendar was configured)."""
        return len(self.days) == 7 and self.opens == time(0, 0) and self.closes is None and not self.holidays

    def is_working_day(self, day: date) -> bool:
        """A working weekday that is not a public holiday."""
        if day.weekday() not in self.days:
            return False
        return not (self.holidays and day in _holidays_of(self.holidays))

    def period(self, day: date) -> tuple[datetime, datetime] | None:
        """The working period of a local date, in UTC; None on days off."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        start = datetime.combine(day, self.opens, zone).astimezone(UTC)
        end_local = (datetime.combine(day + timedelta(days=1), time(0, 0), zone) if self.closes is None
                     else datetime.combine(day, self.closes, zone))
        end = end_local.astimezone(UTC)
        return (start, end) if end > start else None

    def _periods_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = instant.astimezone(self.zone).date() - timedelta(days=1)  # yesterday's period may run past midnight
        for _ in range(_MAX_DAYS_AHEAD):
            found = self.period(day)
            if found is not None and found[1] > instant:
                yield max(found[0], instant), found[1]
            day += timedelta(days=1)

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working time between two instants, in seconds (0 when `end` is not after `start`)."""
        return self.working_time(start, end).total_seconds()

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (exact: timedeltas add up without rounding)."""
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self._periods_from(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total

    def working_hours(self, start: datetime, end: datetime) -> float:
        """Working time between two instants, in hours."""
        return self.working_seconds(start, end) / 3600.0

    def add_working_hours(self, start: datetime, hours: float) -> datetime | None:
        """The instant when `hours` of working time have passed since `start`; None if never."""
        left = timedelta(hours=hours)
        if left <= timedelta(0):
            return start
        for opens, closes in self._periods_from(start):
            if closes - opens >= left:
                return opens + left
            left -= closes - opens
        return None

    def is_open(self, instant: datetime) -> bool:
        """Whether support works at this instant."""
        found = self.period(instant.astimezone(self.zone).date())
        if found is not None and found[0] <= instant < found[1]:
            return True
        previous = self.period(instant.astimezone(self.zone).date() - timedelta(days=1))
        return previous is not None and previous[0] <= instant < previous[1]

    def next_change(self, instant: datetime) -> datetime | None:
        """When support next opens (if closed now) or closes (if open now)."""
        for opens, closes in self._periods_from(instant):
            return closes if opens <= instant else opens
        return None
