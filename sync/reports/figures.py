"""One organisation's figures for one calendar month in one time zone: what the monthly report says.

Counts: requests opened in the month, and resolved in it (their resolution time falls in it). Medians in
working hours of the mapping's calendar (the clock the automatic rules and SLA targets use): first response
of the requests opened in the month, resolution of the requests resolved in it. SLA cycles decided in the
month, met or breached, as the summary counts them. The requests waiting for the customer when the report is
made. The 90 days that end with the month, day by day, in the shape the summary's chart draws.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import StatusHistory, Ticket
from sync.reports.history import Window, midnight, read_history
from sync.reports.measures import median_working_hours, sla_by_month
from sync.scope import organisation_tickets

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
        return midnight(self.first_day, zone), midnight(self.next().first_day, zone)


def _rounded(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def month_figures(db: Session, mapping: Mapping, org_id: int, month: Month, zone: tzinfo,
                  now: datetime) -> dict[str, Any]:
    """Everything the report shows for `org_id` in `month` (read in `zone`), as plain values."""
    scope = organisation_tickets(org_id)
    start, end = month.bounds(zone)
    calendar = mapping.policies.calendar
    opened = db.execute(scope.with_only_columns(Ticket.created_at, Ticket.first_response_at)
                        .where(Ticket.created_at >= start, Ticket.created_at < end)).all()
    resolved = db.execute(scope.with_only_columns(Ticket.created_at, Ticket.resolved_at)
                          .where(Ticket.resolved_at >= start, Ticket.resolved_at < end)).all()
    first, first_sample = median_working_hours(calendar, opened)
    solve, solve_sample = median_working_hours(calendar, resolved)
    sla = sla_by_month(db, scope, zone, now).get(str(month), {"met": 0, "breached": 0})
    since = (select(func.max(StatusHistory.at)).where(StatusHistory.ticket_id == Ticket.id,
                                                      StatusHistory.customer_status == WAITING_STATUS)
             .correlate(Ticket).scalar_subquery())
    waiting = [{"key": key, "summary": summary, "since": at}
               for key, summary, at in db.execute(
                   scope.with_only_columns(Ticket.key, Ticket.summary, since)
                   .where(Ticket.customer_status == WAITING_STATUS, Ticket.bucket == "open")
                   .order_by(Ticket.key).limit(WAITING_LIMIT))]
    return {
        "month": str(month), "opened": len(opened), "resolved": len(resolved),
        "median_first_response_hours": _rounded(first), "median_resolution_hours": _rounded(solve),
        "sample": {"first_response": first_sample, "resolution": solve_sample},
        "sla": sla,
        "waiting": waiting,
        "history": read_history(db, scope, Window(month.last_day, zone)),
        "calendar_timezone": calendar.timezone,
    }
