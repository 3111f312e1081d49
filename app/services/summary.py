"""The status summary of a scope's tickets: headline, counts, recent changes, medians, 90-day history.

`build_summary` is the whole of it (/summary, GET /api/v1/summary, the share page); `build_overview` is the
headline and counts alone, one grouped statement, for what a share link serves often (badge, JSON, card).
The 90-day history and the SLA figures are `sync.reports`' (the monthly report's own), not a copy.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta, tzinfo
from gettext import NullTranslations
from typing import Any, Protocol

from sqlalchemy import Select, false, func
from sqlalchemy.orm import Session

from app.services.scope import ScopeError, scopes_for
from app.services.serializers import iso
from app.services.summary_sla import sla_results
from mappings import Mapping
from sync.models import StatusHistory, Ticket, User
from sync.reports.history import HISTORY_DAYS, Window, changed_in, days, done_at, open_at_start
from sync.scope import reported_by

# Headline items that make the summary ask for attention.
ATTENTION = ("awaiting_customer", "awaiting_requester", "high_priority")
RECENT_LIMIT = 10


class Translations(Protocol):
    """The reader's message catalogue (Flask-Babel's `get_translations()`, or gettext's NullTranslations)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


def summary_scope(user: User, wanted: str | None) -> str:
    """The scope a summary covers: the one asked for, else the widest below 'group'."""
    scopes = scopes_for(user)
    scope = wanted or ("org" if "org" in scopes else "mine")
    if scope not in scopes:
        raise ScopeError(f"scope {scope!r} is not available to role {user.role!r}")
    return scope


def _label(getter: Any, key: str, locale: str, requester: bool = False) -> str:
    try:
        return getter(key).label(locale, requester=requester)
    except KeyError:
        return key


def headline(status_counts: dict[str, int], open_high: int, open_total: int,
             translations: Translations | None = None,
             own_waiting: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Status-page style roll-up, worst first: what waits for the customer, then urgent, then the rest.

    `own_waiting` is how many of the waiting requests the reader raised: only those "wait for your reply";
    the others (and all of them for an anonymous reader, `None`) "wait for the requester".
    """
    catalogue = translations or NullTranslations()

    def ngettext(singular: str, plural: str, num: int) -> str:
        return catalogue.ngettext(singular, plural, num) % {"num": num}

    items: list[dict[str, Any]] = []
    waiting = status_counts.get("awaiting_customer", 0)
    own = min(own_waiting or 0, waiting)
    if own:
        items.append({"kind": "awaiting_customer", "count": own,
                      "text": ngettext("%(num)d request waits for your reply",
                                       "%(num)d requests wait for your reply", own)})
    if waiting - own:
        items.append({"kind": "awaiting_requester", "count": waiting - own,
                      "text": ngettext("%(num)d request waits for the requester",
                                       "%(num)d requests wait for the requester", waiting - own)})
    if open_high:
        items.append({"kind": "high_priority", "count": open_high,
                      "text": ngettext("%(num)d high-priority request open",
                                       "%(num)d high-priority requests open", open_high)})
    if open_total:
        items.append({"kind": "open", "count": open_total,
                      "text": ngettext("%(num)d open request in total", "%(num)d open requests in total",
                                       open_total)})
    else:
        items.append({"kind": "none_open", "count": 0, "text": catalogue.gettext("No open requests")})
    return " · ".join(item["text"] for item in items), items


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _aware(value: datetime | str | None) -> datetime | None:
    # SQLite returns aggregates of typed columns as text.
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def _counts(db: Session, scope: Select[Any], window: Window | None) -> dict[str, Any]:
    """Counts by status, priority and bucket, open ones, the newest sync and, with a `window`, how many were
    open when it began (its history's starting point).

    One statement grouped by (status, priority, bucket): every count is a sum over those few groups.
    """
    columns = [Ticket.customer_status, Ticket.customer_priority, Ticket.bucket, func.count(),
               func.max(Ticket.last_synced_at)]
    if window is not None:
        columns.append(open_at_start(window))
    rows = db.execute(scope.with_only_columns(*columns)
                      .group_by(Ticket.customer_status, Ticket.customer_priority, Ticket.bucket)).all()
    by_status: Counter[str] = Counter()
    by_priority: Counter[str] = Counter()
    by_bucket: Counter[str] = Counter()
    open_by_status: Counter[str] = Counter()
    open_high = carried_total = 0
    synced = [_aware(row[4]) for row in rows if row[4] is not None]
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
            "last_synced": max(synced) if synced else None}


def _overview(db: Session, scope: Select[Any], counts: dict[str, Any], mapping: Mapping, locale: str,
              translations: Translations | None, reader: User | None) -> dict[str, Any]:
    """The headline, its level, the counts and their labels, from `_counts`."""
    own_waiting = None
    if reader is not None and counts["open_by_status"].get("awaiting_customer"):
        own_waiting = db.scalar(scope.with_only_columns(func.count()).where(
            reported_by(reader), Ticket.customer_status == "awaiting_customer", Ticket.bucket == "open"))
    text, items = headline(counts["open_by_status"], counts["open_high"], counts["bucket"].get("open", 0),
                           translations, own_waiting)
    return {
        "headline": text, "headline_items": items,
        "level": "attention" if any(i["kind"] in ATTENTION for i in items) else "ok",
        "counts": {"status": counts["status"], "priority": counts["priority"], "bucket": counts["bucket"]},
        "labels": {"status": {s.key: s.label(locale, requester=False) for s in mapping.statuses},
                   "priority": {p.key: p.label(locale) for p in mapping.priorities}},
        "last_synced": iso(counts["last_synced"]),
    }


def _medians(rows: list[Any]) -> dict[str, Any]:
    """Medians of time to first response and to resolution over rows of (created, first response, resolved)."""
    first = [(r[1] - r[0]).total_seconds() for r in rows if r[1]]
    solve = [(r[2] - r[0]).total_seconds() for r in rows if r[2]]
    return {"first_response_seconds": _median(first), "resolution_seconds": _median(solve),
            "window_days": HISTORY_DAYS, "sample": {"first_response": len(first), "resolution": len(solve)}}


def build_overview(db: Session, scope_query: Select[tuple[Ticket]], mapping: Mapping, locale: str, *,
                   now: datetime | None = None, translations: Translations | None = None) -> dict[str, Any]:
    """The summary's headline, level, counts, labels and last sync for an anonymous reader (a share link's
    badge, JSON and card, fetched every minute): one grouped statement."""
    now = now or datetime.now(UTC)
    scope = scope_query.order_by(None)
    return {**_overview(db, scope, _counts(db, scope, None), mapping, locale, translations, None),
            "generated": iso(now)}


def build_summary(db: Session, scope_query: Select[tuple[Ticket]], mapping: Mapping, locale: str,
                  zone: tzinfo, *, now: datetime | None = None, with_subjects: bool = True,
                  translations: Translations | None = None, reader: User | None = None) -> dict[str, Any]:
    """Everything /summary and GET /api/v1/summary show, for the tickets of `scope_query` (the scope helper).

    `reader` is who reads it (None for a share link): it decides "your reply" against "the requester".
    """
    now = now or datetime.now(UTC)
    # Every statement keeps the scope helper's WHERE (not `id IN (subquery)`, which cost a semi-join).
    scope = scope_query.order_by(None)
    window = Window(now.astimezone(zone).date(), zone)
    counts = _counts(db, scope, window)
    overview = _overview(db, scope, counts, mapping, locale, translations, reader)
    recent = []
    mine = reported_by(reader) if reader is not None else false()
    for entry, key, summary, own in db.execute(
            scope.with_only_columns(StatusHistory, Ticket.key, Ticket.summary, mine).select_from(Ticket)
            .join(StatusHistory, StatusHistory.ticket_id == Ticket.id)
            .order_by(StatusHistory.at.desc(), StatusHistory.id.desc()).limit(RECENT_LIMIT)):
        recent.append({"key": key, "summary": summary if with_subjects else None, "status": entry.customer_status,
                       "status_label": _label(mapping.status, entry.customer_status, locale, bool(own)),
                       "at": iso(entry.at)})
    # One read serves the medians (created in the last 90 days) and the daily history (opened or
    # closed since the first day shown). Both need only recent tickets.
    since = now - timedelta(days=HISTORY_DAYS)
    rows = db.execute(scope.with_only_columns(Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at,
                                              done_at()).where(changed_in(window, opened_since=since))).all()
    recent_rows = [r for r in rows if r[0] >= since]
    return {
        **overview,
        "recent": recent,
        "medians": _medians(recent_rows),
        "history": days(window, counts["carried"], ((r[0], r[3]) for r in rows)),
        "sla": sla_results(db, scope, mapping, zone, now, [(r[0], r[1]) for r in recent_rows if r[1]]),
        "generated": iso(now),
    }
