"""Service figures the summary and the monthly report both show: SLA cycles met and breached per month, and
medians in the mapping's working hours (the clock the automatic rules and SLA targets count on).

Read from the SLA mirror (`TicketSla`), so neither costs a JSM call. A completed cycle counts in the month
it stopped, met or breached as JSM decided; a running one counts as breached in the month its breach time
passed (and not while paused, as on the request page); a running one still in time is neither yet.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from mappings import WorkingCalendar
from sync.models import Ticket, TicketSla
from sync.policies.sla_view import decided_outcomes


def month_of(moment: datetime, zone: tzinfo) -> str:
    """`YYYY-MM` of `moment` read in `zone`."""
    day = moment.astimezone(zone).date()
    return f"{day.year:04d}-{day.month:02d}"


def sla_by_month(db: Session, scope: Select[Any], zone: tzinfo, now: datetime) -> dict[str, dict[str, int]]:
    """`{"YYYY-MM": {"met": n, "breached": n}}` of the cycles of `scope`'s requests decided by `now`."""
    met: Counter[str] = Counter()
    breached: Counter[str] = Counter()
    rows = db.execute(scope.with_only_columns(TicketSla.metrics).order_by(None).select_from(Ticket)
                      .join(TicketSla, TicketSla.ticket_id == Ticket.id))
    for (metrics,) in rows:
        for moment, late in decided_outcomes(metrics or [], now):
            (breached if late else met)[month_of(moment, zone)] += 1
    return {month: {"met": met[month], "breached": breached[month]} for month in met.keys() | breached.keys()}


def median_working_hours(calendar: WorkingCalendar,
                         spans: Iterable[tuple[datetime, datetime | None]]) -> tuple[float | None, int]:
    """(median working hours from start to end, how many spans had an end) over `spans`."""
    hours = [calendar.working_hours(start, end) for start, end in spans if end is not None]
    return (float(statistics.median(hours)) if hours else None), len(hours)
