"""The 90-day history of a scope's requests, day by day: opened, resolved, and open at each day's end.

The one implementation behind the summary's chart (/summary, GET /api/v1/summary, the share page) and the
monthly report's: both pass the scope helper's query, and only the last day differs (today, or the month's
last day). A request counts as resolved on the day it left the open bucket; one open now counts as open
whatever its history says. Days are calendar days in the reader's (or recipient's) time zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, type_coerce
from sqlalchemy.orm import Session

from sync.models import Ticket, UTCDateTime

HISTORY_DAYS = 90


def midnight(day: date, zone: tzinfo) -> datetime:
    """The start of `day` in `zone`, as a UTC instant."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """The `HISTORY_DAYS` days that end with `last_day` (included), read in `zone`."""

    last_day: date
    zone: tzinfo

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=HISTORY_DAYS - 1)

    @property
    def start(self) -> datetime:
        return midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return midnight(self.last_day + timedelta(days=1), self.zone)


def done_at() -> Any:
    """When a request left the open bucket; None for a request open now (SQL expression)."""
    return type_coerce(case((Ticket.bucket != "open", func.coalesce(Ticket.resolved_at, Ticket.jira_updated_at)),
                            else_=None), UTCDateTime())


def open_at_start(window: Window) -> ColumnElement[int]:
    """How many requests were open when the window began: an aggregate, so a grouped count query can carry it."""
    return func.count().filter(Ticket.created_at < window.start,
                               or_(Ticket.bucket == "open", done_at() >= window.start))


def changed_in(window: Window, opened_since: datetime | None = None) -> ColumnElement[bool]:
    """Requests the window's days need: opened in it, or left the open bucket in it.

    `opened_since` widens the read to requests opened since then (the summary reads its medians' requests
    in the same statement); `days` counts only what falls in the window.
    """
    since = window.start if opened_since is None else min(window.start, opened_since)
    return (Ticket.created_at < window.end) & or_(Ticket.created_at >= since, done_at() >= window.start)


def days(window: Window, open_before: int, spans: Iterable[tuple[datetime, datetime | None]]) -> list[dict[str, Any]]:
    """`[{"date", "opened", "resolved", "open"}]` oldest first, from `open_before` (`open_at_start`) and the
    (created, left the open bucket) of the requests `changed_in` the window (more are ignored)."""
    zone, start = window.zone, window.start
    opened: Counter[date] = Counter()
    resolved: Counter[date] = Counter()
    for created, done in spans:
        if created >= start:
            opened[created.astimezone(zone).date()] += 1
        if done is not None and done >= start:
            resolved[done.astimezone(zone).date()] += 1
    out, open_count = [], open_before
    for offset in range(HISTORY_DAYS):
        day = window.first_day + timedelta(days=offset)
        open_count += opened[day] - resolved[day]
        # Never below zero, even if a request's stored resolution precedes its creation.
        out.append({"date": day.isoformat(), "opened": opened[day], "resolved": resolved[day],
                    "open": max(open_count, 0)})
    return out


def read_history(db: Session, scope: Select[Any], window: Window) -> list[dict[str, Any]]:
    """The window's days for the requests of `scope` (the scope helper's query): two statements."""
    open_before = db.scalar(scope.with_only_columns(open_at_start(window)).order_by(None)) or 0
    spans = db.execute(scope.with_only_columns(Ticket.created_at, done_at()).order_by(None)
                       .where(changed_in(window)))
    return days(window, open_before, ((created, done) for created, done in spans))
