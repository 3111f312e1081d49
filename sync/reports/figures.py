"""One organisation's figures for one calendar month in one time zone: what the monthly report says.

Counts: requests opened in the month, and resolved in it (their resolution time falls in it). Medians in
working hours of the mapping's calendar (the clock the automatic rules and SLA targets use): first response
of the requests opened in the month, resolution of the requests resolved in it. SLA cycles decided in the
month, met or breached, as the summary counts them. The requests waiting for the customer when the report is
made. The 90 days that end with the month, day by day, in the shape the summary's chart draws.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import Role, StatusHistory, Ticket, TicketSla, User, UTCDateTime
from sync.policies.sla_view import decided_outcomes
from sync.scope import visible_condition

HISTORY_DAYS = 90
WAITING_STATUS = "awaiting_customer"
WAITING_LIMIT = 100  # a report lists them; the portal has the rest
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, `YYYY-MM`."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM` → Month; ValueError saying what is expected otherwise."""
        match = _MONTH.match(text or "")
        if not match or not 1970 <= int(match.group(1)) <= 9999:
            raise ValueError("month must be YYYY-MM, e.g. 2026-11")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) of the month in `zone`, as UTC instants."""
        return _midnight(self.first_day, zone), _midnight(self.next().first_day, zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def org_tickets(org_id: int) -> Select[Any]:
    """The organisation's requests as an org viewer sees them: the one scope rule decides, not this module."""
    reader = User(email="", role=Role.ORG_VIEWER, organization_id=org_id)
    return select(Ticket).where(visible_condition(reader, "org"))


def _done_at() -> Any:
    # When a request left the open bucket (the summary's rule): requests open now count as open.
    return type_coerce(case((Ticket.bucket != "open", func.coalesce(Ticket.resolved_at, Ticket.jira_updated_at)),
                            else_=None), UTCDateTime())


def _median(values: list[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _history(rows: list[tuple[datetime, datetime | None]], zone: tzinfo, last_day: date) -> list[dict[str, Any]]:
    """Opened and resolved per day, and open at each day's end, for the 90 days that end on `last_day`.

    `rows` are (created, left the open bucket) of every request created before the window's end that was
    still open when the window began.
    """
    first_day = last_day - timedelta(days=HISTORY_DAYS - 1)
    window_start = _midnight(first_day, zone)
    opened = Counter(created.astimezone(zone).date() for created, _ in rows if created >= window_start)
    resolved = Counter(done.astimezone(zone).date() for _, done in rows if done is not None and done >= window_start)
    open_count = sum(1 for created, _ in rows if created < window_start)
    out = []
    for offset in range(HISTORY_DAYS):
        day = first_day + timedelta(days=offset)
        open_count += opened[day] - resolved[day]
        out.append({"date": day.isoformat(), "opened": opened[day], "resolved": resolved[day], "open": open_count})
    return out


def month_figures(db: Session, mapping: Mapping, org_id: int, month: Month, zone: tzinfo,
                  now: datetime) -> dict[str, Any]:
    """Everything the report shows for `org_id` in `month` (read in `zone`), as plain values."""
    scope = org_tickets(org_id)
    start, end = month.bounds(zone)
    calendar = mapping.policies.calendar
    opened = db.execute(scope.with_only_columns(Ticket.created_at, Ticket.first_response_at)
                        .where(Ticket.created_at >= start, Ticket.created_at < end)).all()
    resolved = db.execute(scope.with_only_columns(Ticket.created_at, Ticket.resolved_at)
                          .where(Ticket.resolved_at >= start, Ticket.resolved_at < end)).all()
    first = [calendar.working_hours(c, f) for c, f in opened if f is not None]
    solve = [calendar.working_hours(c, r) for c, r in resolved if r is not None]
    met = breached = 0
    for (metrics,) in db.execute(scope.with_only_columns(TicketSla.metrics).select_from(Ticket)
                                 .join(TicketSla, TicketSla.ticket_id == Ticket.id)):
        for moment, late in decided_outcomes(metrics or [], min(now, end)):
            if start <= moment < end:
                breached, met = (breached + 1, met) if late else (breached, met + 1)
    since = (select(func.max(StatusHistory.at)).where(StatusHistory.ticket_id == Ticket.id,
                                                      StatusHistory.customer_status == WAITING_STATUS)
             .correlate(Ticket).scalar_subquery())
    waiting = [{"key": key, "summary": summary, "since": at}
               for key, summary, at in db.execute(
                   scope.with_only_columns(Ticket.key, Ticket.summary, since)
                   .where(Ticket.customer_status == WAITING_STATUS, Ticket.bucket == "open")
                   .order_by(Ticket.key).limit(WAITING_LIMIT))]
    window_start = _midnight(month.last_day - timedelta(days=HISTORY_DAYS - 1), zone)
    done = _done_at()
    spans = [(c, d) for c, d in db.execute(scope.with_only_columns(Ticket.created_at, done)
                                           .where(Ticket.created_at < end, or_(done.is_(None), done >= window_start)))]
    return {
        "month": str(month), "opened": len(opened), "resolved": len(resolved),
        "median_first_response_hours": _median(first), "median_resolution_hours": _median(solve),
        "sample": {"first_response": len(first), "resolution": len(solve)},
        "sla": {"met": met, "breached": breached},
        "waiting": waiting,
        "history": _history(spans, zone, month.last_day),
        "calendar_timezone": calendar.timezone,
    }
