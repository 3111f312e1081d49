"""SLA results of a scope for the summary: met and breached per month, and the median first response in
working hours (the mapping's working calendar, the one the automatic rules count on).

Read from the SLA mirror (`TicketSla`), so a summary costs no JSM call. A completed cycle counts in the
month it stopped, met or breached as JSM decided; a running one counts as breached in the month its
breach time passed (and not while paused, as on the request page); a running one still in time is
neither yet.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.models import Ticket, TicketSla
from sync.policies.sla_view import decided_outcomes

MONTHS = 6


def _months(now: datetime, zone: tzinfo) -> list[str]:
    """The last `MONTHS` months, oldest first, as YYYY-MM in the reader's zone."""
    today = now.astimezone(zone).date()
    out = []
    year, month = today.year, today.month
    for _ in range(MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _month(moment: datetime, zone: tzinfo) -> str:
    day: date = moment.astimezone(zone).date()
    return f"{day.year:04d}-{day.month:02d}"


def sla_results(db: Session, scope: Select[Any], mapping: Mapping, zone: tzinfo, now: datetime,
                first_responses: list[tuple[datetime, datetime]]) -> dict[str, Any]:
    """`{"months": [{"month", "met", "breached"}], "median_first_response_working_hours", "sample"}`.

    `first_responses`: (created, first response) of the requests the summary's medians cover.
    """
    months = _months(now, zone)
    met: Counter[str] = Counter()
    breached: Counter[str] = Counter()
    rows = db.execute(scope.with_only_columns(TicketSla.metrics).select_from(Ticket)
                      .join(TicketSla, TicketSla.ticket_id == Ticket.id))
    for (metrics,) in rows:
        for moment, late in decided_outcomes(metrics or [], now):
            month = _month(moment, zone)
            if month in months:
                (breached if late else met)[month] += 1
    calendar = mapping.policies.calendar
    hours = [calendar.working_hours(created, answered) for created, answered in first_responses]
    return {"months": [{"month": m, "met": met[m], "breached": breached[m]} for m in months],
            "median_first_response_working_hours": float(statistics.median(hours)) if hours else None,
            "sample": len(hours)}
