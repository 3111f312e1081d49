"""The figures of a scope's status summary, in no language: counts, recent changes, medians, the 90-day
history and SLA results, as JSON-ready values.

Counted here (not in `app.services.summary`, which words them for a reader) so that a job can count the
summary of every organisation outside the web process (`sync.jobs.summary`) and every reader's language
words the same kept figures. The history and the SLA figures are the monthly report's own
(`sync.reports.history`, `sync.reports.measures`), not a copy.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, false, func
from sqlalchemy.orm import Session

from mappings import WorkingCalendar
from sync.models import StatusHistory, Ticket, User
from sync.reports.history import HISTORY_DAYS, Window, changed_in, days, done_at, open_at_start
from sync.reports.measures import median_working_hours, sla_by_month
from sync.scope import reported_by

RECENT_LIMIT = 10
# SLA results are shown for this many months, the current one last.
SLA_MONTHS = 6


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, to the second (the API's time format), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _aware(value: datetime | str | None) -> datetime | None:
    # SQLite returns aggregates of typed columns as text.
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def scope_counts(db: Session, scope: Select[Any], window: Window | None) -> dict[str, Any]:
    """Counts by status, priority and bucket, open ones, the newest sync (ISO) and, with a `window`, how many
    were open when it began (its history's starting point, `carried`).

    One statement grouped by (status, priority, bucket): every count is a sum over those few groups.
    """
    columns = [Ticket.customer_status, Ticket.customer_priority, Ticket.bucket, func.count(),
               func.max(Ticket.last_synced_at)]
    if window is not None:
        columns.append(open_at_start(window))
    rows: list[Any] = list(db.execute(scope.with_only_columns(*columns)
                                      .group_by(Ticket.customer_status, Ticket.customer_priority, Ticket.bucket)))
    by_status: Counter[str] = Counter()
    by_priority: Counter[str] = Counter()
    by_bucket: Counter[str] = Counter()
    open_by_status: Counter[str] = Counter()
    open_high = carried_total = 0
    synced = [moment for row in rows if (moment := _aware(row[4])) is not None]
    for status, priority, bucket, n, *rest in rows:
        by_status[status] += n
        by_priority[priority] += n
        by_bucket[bucket] += n
        carried_total += rest[1] if window is not None else 0
        if bucket == "open":
            open_by_status[status] += n
            open_high += n if priority == "high" else 0
    return {"status": dict(by_status), "priority": dict(by_priority), "bucket": dict(by_bucket),
            "open_by_status": dict(open_by_status), "open_high": open_high, "carried": carried_total,
            "last_synced": iso(max(synced)) if synced else None}


def own_waiting(db: Session, scope: Select[Any], counts: dict[str, Any], reader: User | None) -> int | None:
    """How many of the scope's requests waiting for the customer `reader` raised (None: no reader)."""
    if reader is None:
        return None
    if not counts["open_by_status"].get("awaiting_customer"):
        return 0
    return int(db.scalar(scope.with_only_columns(func.count()).where(
        reported_by(reader), Ticket.customer_status == "awaiting_customer", Ticket.bucket == "open")) or 0)


def _medians(rows: list[Any]) -> dict[str, Any]:
    """Medians of time to first response and to resolution over rows of (created, first response, resolved)."""
    first = [(r[1] - r[0]).total_seconds() for r in rows if r[1]]
    solve = [(r[2] - r[0]).total_seconds() for r in rows if r[2]]
    return {"first_response_seconds": _median(first), "resolution_seconds": _median(solve),
            "window_days": HISTORY_DAYS, "sample": {"first_response": len(first), "resolution": len(solve)}}


def _months(now: datetime, zone: tzinfo) -> list[str]:
    """The last `SLA_MONTHS` months, oldest first, as YYYY-MM in the reader's zone."""
    today = now.astimezone(zone).date()
    out = []
    year, month = today.year, today.month
    for _ in range(SLA_MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def sla_results(db: Session, scope: Select[Any], calendar: WorkingCalendar, zone: tzinfo, now: datetime,
                first_responses: list[tuple[datetime, datetime]]) -> dict[str, Any]:
    """`{"months": [{"month", "met", "breached"}], "median_first_response_working_hours", "sample"}`.

    `first_responses`: (created, first response) of the requests the summary's medians cover.
    """
    decided = sla_by_month(db, scope, zone, now)
    median, sample = median_working_hours(calendar, first_responses)
    return {"months": [{"month": m, **decided.get(m, {"met": 0, "breached": 0})} for m in _months(now, zone)],
            "median_first_response_working_hours": median, "sample": sample}


def summary_figures(db: Session, scope_query: Select[Any], calendar: WorkingCalendar, zone: tzinfo,
                    *, now: datetime | None = None, reader: User | None = None) -> dict[str, Any]:
    """Every figure of the summary of `scope_query`'s tickets, JSON-ready (kept in Redis as they are).

    `reader` is who reads it (None for a share link): which waiting requests and recent changes are theirs.
    """
    now = now or datetime.now(UTC)
    # Every statement keeps the scope helper's WHERE (not `id IN (subquery)`, which cost a semi-join).
    scope = scope_query.order_by(None)
    window = Window(now.astimezone(zone).date(), zone)
    counts = scope_counts(db, scope, window)
    recent = []
    mine = reported_by(reader) if reader is not None else false()
    for entry, key, subject, own in db.execute(
            scope.with_only_columns(StatusHistory, Ticket.key, Ticket.summary, mine).select_from(Ticket)
            .join(StatusHistory, StatusHistory.ticket_id == Ticket.id)
            .order_by(StatusHistory.at.desc(), StatusHistory.id.desc()).limit(RECENT_LIMIT)):
        recent.append({"key": key, "summary": subject, "status": entry.customer_status, "own": bool(own),
                       "at": iso(entry.at)})
    # One read serves the medians (created in the last 90 days) and the daily history (opened or
    # closed since the first day shown). Both need only recent tickets.
    since = now - timedelta(days=HISTORY_DAYS)
    rows = db.execute(scope.with_only_columns(Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at,
                                              done_at()).where(changed_in(window, opened_since=since))).all()
    recent_rows = [r for r in rows if r[0] >= since]
    return {
        "counts": counts,
        "own_waiting": own_waiting(db, scope, counts, reader),
        "recent": recent,
        "medians": _medians(recent_rows),
        "history": days(window, counts["carried"], ((r[0], r[3]) for r in rows)),
        "sla": sla_results(db, scope, calendar, zone, now, [(r[0], r[1]) for r in recent_rows if r[1]]),
        "generated": iso(now),
    }
