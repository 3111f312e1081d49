"""SLA results of a scope for the summary: met and breached in each of the last `MONTHS` months, and the
median first response in working hours; both counted by `sync.reports.measures`, as the monthly report
counts them."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.reports.measures import median_working_hours, sla_by_month

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


def sla_results(db: Session, scope: Select[Any], mapping: Mapping, zone: tzinfo, now: datetime,
                first_responses: list[tuple[datetime, datetime]]) -> dict[str, Any]:
    """`{"months": [{"month", "met", "breached"}], "median_first_response_working_hours", "sample"}`.

    `first_responses`: (created, first response) of the requests the summary's medians cover.
    """
    decided = sla_by_month(db, scope, zone, now)
    median, sample = median_working_hours(mapping.policies.calendar, first_responses)
    return {"months": [{"month": m, **decided.get(m, {"met": 0, "breached": 0})} for m in _months(now, zone)],
            "median_first_response_working_hours": median, "sample": sample}
