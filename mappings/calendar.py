"""Working-time arithmetic on a support calendar: time zone, working days, daily hours, public holidays.

Pure (no I/O): the calendar is part of the mapping document, so it is versioned, previewed and rolled back
with it. Public holidays come from the `holidays` library (data shipped with the package). Every instant
given or returned is an aware datetime; working periods are built as local wall times of each day and
converted to UTC, so a DST change shortens or lengthens that day's period as the clock on the wall does.

Working time between two instants is counted from a table of each day's period with running sums of
their lengths, built once per calendar for the years asked for (`_Days`): a span costs two bisections,
however long it is, and the many spans a report or summary measures share the per-day work. It equals
the day-by-day walk (`walked_working_time`) to the microsecond: a property test holds the two together
across zones, hours, holidays and DST changes.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Looking further than this for the next working minute means the calendar has none (every day a holiday).
_MAX_DAYS_AHEAD = 3660
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY = 86_400_000_000  # microseconds
_EPOCH_DAY = _EPOCH.toordinal()
# Spans shorter than this lie within the walk's look-ahead (`_MAX_DAYS_AHEAD` days, less the two it may
# start before `start`), so counting all of them is what the walk counts.
_REGULAR_SPAN = (_MAX_DAYS_AHEAD - 3) * _DAY
# Days at each end of a span whose periods are clipped to it one by one: a day's period lies within its
# own local date give or take a DST shift (a whole day where a zone once skipped one), so a day more than
# two local dates inside the span is wholly inside it.
_EDGE_DAYS = 3


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

    @functools.cached_property
    def _days(self) -> _Days:
        # Equal calendars (one per mapping version, parsed again by each process) share one table.
        return _days_of(self)

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
        """Working time between two instants (exact: whole microseconds, as the walk's timedeltas add up).

        What the walk (`walked_working_time`) counts: the periods of the days from the one before `start`'s
        local date, for at most `_MAX_DAYS_AHEAD` days. When the periods follow one another without
        overlapping (every zone but one that skipped a day), that is the working time before `end` less
        the working time before `start`, each found by bisection; otherwise the days near either end are
        clipped to the span one by one and the rest counted whole.
        """
        if end <= start:
            return timedelta(0)
        lo, hi = _micros(start), _micros(end)
        # A local date is within a day of the UTC one: a table holding a day more each side holds both.
        table = self._days.covering(lo // _DAY + _EPOCH_DAY - 2, hi // _DAY + _EPOCH_DAY + 2)
        if table.regular and hi - lo < _REGULAR_SPAN:
            return timedelta(microseconds=table.before_instant(hi) - table.before_instant(lo))
        zone = _zone(self.timezone)
        first = start.astimezone(zone).toordinal() - 1
        last = min(end.astimezone(zone).toordinal() + 1, first + _MAX_DAYS_AHEAD - 1)
        table = self._days.covering(first, last)
        i, j = first - table.base, last - table.base
        opens, closes = table.opens, table.closes
        if j - i < 2 * _EDGE_DAYS:
            edges: tuple[int, ...] = tuple(range(i, j + 1))
            total = 0
        else:  # the middle days whole, from the running sums
            edges = (*range(i, i + _EDGE_DAYS), *range(j - _EDGE_DAYS + 1, j + 1))
            total = table.before[j - _EDGE_DAYS + 1] - table.before[i + _EDGE_DAYS]
        for k in edges:
            total += max(0, min(closes[k], hi) - max(opens[k], lo))
        return timedelta(microseconds=total)

    def walked_working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants, walking the calendar's periods one by one.

        The definition `working_time` is held equal to (by a property test): it costs a period's
        computation per day of the span.
        """
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


def _micros(instant: datetime) -> int:
    """An aware instant as whole microseconds since the Unix epoch (exact)."""
    return (instant - _EPOCH) // _MICROSECOND


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class _Table:
    """A calendar's working periods for a run of whole years, day by day, in microseconds since the epoch.

    The period of the day with ordinal `base + i` runs from `opens[i]` to `closes[i]` (equal on a day
    off); `before[i]` is the working time of the days before it. The working days' periods alone, in
    order, are `work_opens`/`work_closes`, `work_before[m]` the working time before the m-th; `regular`
    says each of those ends before the next begins.
    """

    base: int
    opens: list[int]
    closes: list[int]
    before: list[int]
    work_opens: list[int]
    work_closes: list[int]
    work_before: list[int]
    regular: bool

    @classmethod
    def of(cls, base: int, opens: list[int], closes: list[int]) -> _Table:
        before = [0]
        work_opens: list[int] = []
        work_closes: list[int] = []
        work_before = [0]
        for start, end in zip(opens, closes, strict=True):
            before.append(before[-1] + end - start)
            if end > start:
                work_opens.append(start)
                work_closes.append(end)
                work_before.append(work_before[-1] + end - start)
        regular = all(work_closes[m] <= work_opens[m + 1] for m in range(len(work_opens) - 1))
        return cls(base, opens, closes, before, work_opens, work_closes, work_before, regular)

    def holds(self, first: int, last: int) -> bool:
        """Whether the days `first`..`last` (ordinals) are in the table."""
        return bool(self.opens) and self.base <= first and last < self.base + len(self.opens)

    def before_instant(self, instant: int) -> int:
        """The working time of the table's periods before `instant` (only when `regular`)."""
        m = bisect.bisect_right(self.work_opens, instant) - 1
        if m < 0:
            return 0
        return self.work_before[m] + min(self.work_closes[m], instant) - self.work_opens[m]


_EMPTY = _Table.of(0, [], [])


class _Days:
    """One calendar's `_Table`, grown by whole years as spans ask for more days.

    The table is replaced whole when it grows, never changed in place, so a reader in another thread
    (or greenlet) always sees one consistent table.
    """

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self.table = _EMPTY
        self._lock = threading.Lock()

    def covering(self, first: int, last: int) -> _Table:
        """The table, grown first if it does not hold the days `first`..`last` (ordinals)."""
        table = self.table
        if table.holds(first, last):
            return table
        with self._lock:
            old = self.table
            years = [date.fromordinal(first).year, date.fromordinal(last).year]
            if old.opens:
                years += [date.fromordinal(old.base).year, date.fromordinal(old.base + len(old.opens) - 1).year]
            base = date(min(years), 1, 1).toordinal()
            opens: list[int] = []
            closes: list[int] = []
            for ordinal in range(base, date(max(years), 12, 31).toordinal() + 1):
                if old.holds(ordinal, ordinal):
                    opens.append(old.opens[ordinal - old.base])
                    closes.append(old.closes[ordinal - old.base])
                    continue
                found = self.calendar.period(date.fromordinal(ordinal))
                start, end = (_micros(found[0]), _micros(found[1])) if found is not None else (0, 0)
                opens.append(start)
                closes.append(end)
            self.table = _Table.of(base, opens, closes)
            return self.table


@functools.lru_cache(maxsize=64)
def _days_of(calendar: WorkingCalendar) -> _Days:
    """The day table of `calendar` (one per calendar: every span measured on it shares it)."""
    return _Days(calendar)
