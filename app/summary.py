"""The status summary of a set of tickets: headline, counts, recent changes, medians, 90-day history."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from app.serializers import iso
from mappings import Mapping
from sync.models import StatusHistory, Ticket, UTCDateTime

HISTORY_DAYS = 90
RECENT_LIMIT = 10


def _label(getter: Any, key: str, locale: str) -> str:
    try:
        return getter(key).label(locale)
    except KeyError:
        return key


def headline(status_counts: dict[str, int], open_high: int, open_total: int) -> tuple[str, list[dict[str, Any]]]:
    """Status-page style roll-up, worst first: what waits for the customer, then urgent, then the rest."""
    items: list[dict[str, Any]] = []
    waiting = status_counts.get("awaiting_customer", 0)
    if waiting:
        items.append({"kind": "awaiting_customer", "count": waiting,
                      "text": ngettext("%(num)d request waits for your reply",
                                       "%(num)d requests wait for your reply", waiting)})
    if open_high:
        items.append({"kind": "high_priority", "count": open_high,
                      "text": ngettext("%(num)d high-priority request open",
                                       "%(num)d high-priority requests open", open_high)})
    if open_total:
        items.append({"kind": "open", "count": open_total,
                      "text": ngettext("%(num)d open request in total", "%(num)d open requests in total",
                                       open_total)})
    else:
        items.append({"kind": "none_open", "count": 0, "text": _("No open requests")})
    return " · ".join(item["text"] for item in items), items


def _done_at() -> Any:
    # When a ticket left the open bucket; tickets open now count as open whatever their history says.
    return type_coerce(case((Ticket.bucket != "open", func.coalesce(Ticket.resolved_at, Ticket.jira_updated_at)),
                            else_=None), UTCDateTime())


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _daily_history(db: Session, ids: Any, zone: tzinfo, today: date) -> list[dict[str, Any]]:
    first_day = today - timedelta(days=HISTORY_DAYS - 1)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone).astimezone(UTC)
    done = _done_at()
    scoped = select(Ticket).where(Ticket.id.in_(ids))
    base = db.scalar(select(func.count()).select_from(
        scoped.where(Ticket.created_at < start, or_(Ticket.bucket == "open", done >= start)).subquery())) or 0
    opened = Counter(moment.astimezone(zone).date() for moment in db.scalars(
        select(Ticket.created_at).where(Ticket.id.in_(ids), Ticket.created_at >= start)))
    resolved = Counter(moment.astimezone(zone).date() for moment in db.scalars(
        select(done).where(Ticket.id.in_(ids), done >= start)))
    days, open_count = [], base
    for offset in range(HISTORY_DAYS):
        day = first_day + timedelta(days=offset)
        open_count += opened[day] - resolved[day]
        days.append({"date": day.isoformat(), "opened": opened[day], "resolved": resolved[day],
                     "open": max(open_count, 0)})
    return days


def build_summary(db: Session, scope_query: Select[tuple[Ticket]], mapping: Mapping, locale: str,
                  zone: tzinfo, *, now: datetime | None = None, with_subjects: bool = True) -> dict[str, Any]:
    """Everything /summary and GET /api/v1/summary show, for the tickets of `scope_query` (the scope helper)."""
    now = now or datetime.now(UTC)
    ids = scope_query.order_by(None).with_only_columns(Ticket.id).scalar_subquery()
    in_scope = Ticket.id.in_(ids)

    def grouped(column: Any) -> dict[str, int]:
        return {key: n for key, n in db.execute(select(column, func.count()).where(in_scope).group_by(column))}

    by_status, by_priority, by_bucket = (grouped(Ticket.customer_status), grouped(Ticket.customer_priority),
                                         grouped(Ticket.bucket))
    open_high = db.scalar(select(func.count()).where(in_scope, Ticket.bucket == "open",
                                                     Ticket.customer_priority == "high")) or 0
    open_by_status = {key: n for key, n in db.execute(select(Ticket.customer_status, func.count())
                                                      .where(in_scope, Ticket.bucket == "open")
                                                      .group_by(Ticket.customer_status))}
    text, items = headline(open_by_status, open_high, by_bucket.get("open", 0))
    recent = []
    for entry, key, summary in db.execute(
            select(StatusHistory, Ticket.key, Ticket.summary).join(Ticket, Ticket.id == StatusHistory.ticket_id)
            .where(in_scope).order_by(StatusHistory.at.desc(), StatusHistory.id.desc()).limit(RECENT_LIMIT)):
        recent.append({"key": key, "summary": summary if with_subjects else None, "status": entry.customer_status,
                       "status_label": _label(mapping.status, entry.customer_status, locale), "at": iso(entry.at)})
    window = now - timedelta(days=HISTORY_DAYS)
    pairs = db.execute(select(Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at)
                       .where(in_scope, Ticket.created_at >= window)).all()
    first = [(r.first_response_at - r.created_at).total_seconds() for r in pairs if r.first_response_at]
    solve = [(r.resolved_at - r.created_at).total_seconds() for r in pairs if r.resolved_at]
    last_synced = db.scalar(select(func.max(Ticket.last_synced_at)).where(in_scope))
    if isinstance(last_synced, str):  # SQLite returns aggregates of typed columns as text
        last_synced = datetime.fromisoformat(last_synced).replace(tzinfo=UTC)
    return {
        "headline": text, "headline_items": items,
        "level": "attention" if any(i["kind"] in ("awaiting_customer", "high_priority") for i in items) else "ok",
        "counts": {"status": by_status, "priority": by_priority, "bucket": by_bucket},
        "labels": {"status": {s.key: s.label(locale) for s in mapping.statuses},
                   "priority": {p.key: p.label(locale) for p in mapping.priorities}},
        "recent": recent,
        "medians": {"first_response_seconds": _median(first), "resolution_seconds": _median(solve),
                    "window_days": HISTORY_DAYS, "sample": {"first_response": len(first), "resolution": len(solve)}},
        "history": _daily_history(db, ids, zone, now.astimezone(zone).date()),
        "last_synced": iso(last_synced), "generated": iso(now),
    }
