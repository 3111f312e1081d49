"""Sync health numbers (lag, inbox backlog, failures, JSM calls, watermarks) for admins and /metrics.

JSM call counters live in each gateway object (per process); workers publish their deltas to one
Redis hash so the web process can report the calls of every process. Redis away → counts are lost
for that moment, nothing else is (they are statistics, not state).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.orm import Session

from sync.jsm.auth_answers import last_auth_failure
from sync.models import (
    INBOX_FAILED,
    INBOX_IGNORED,
    INBOX_PENDING,
    LIVE_TICKET,
    InboundEvent,
    InboxState,
    SyncState,
    Ticket,
    utcnow,
)
from sync.redis_conn import sync_reply

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)
JSM_CALLS_KEY = "companion:jsm:calls"
# "Newest applied event" looks at the latest deliveries only (a primary-key range), so a scrape stays
# cheap however long the inbox has grown.
RECENT_DELIVERIES = 5000


def publish_jsm_calls(client: redis.Redis | None, gateway: Any) -> dict[str, int]:
    """Add the calls `gateway` made since its last publish to the shared per-kind totals."""
    calls = dict(getattr(gateway, "calls", {}) or {})
    published: dict[str, int] = getattr(gateway, "_published_calls", {})
    delta = {kind: n - published.get(kind, 0) for kind, n in calls.items() if n - published.get(kind, 0) > 0}
    if not delta or client is None:
        return delta
    try:
        pipe = client.pipeline(transaction=False)
        for kind, n in delta.items():
            pipe.hincrby(JSM_CALLS_KEY, kind, n)
        pipe.execute()
        gateway._published_calls = calls
    except (redis.RedisError, OSError) as exc:
        log.info("JSM call counts not published (Redis: %s)", exc)
    return delta


def jsm_call_totals(client: redis.Redis | None) -> dict[str, int] | None:
    """JSM calls per endpoint kind made by every process since the counters were created."""
    if client is None:
        return None
    try:
        raw = sync_reply(client.hgetall(JSM_CALLS_KEY))
    except (redis.RedisError, OSError):
        return None
    return {k.decode() if isinstance(k, bytes) else str(k): int(v) for k, v in raw.items()}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _from_ms(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, UTC) if value is not None else None


def _by_state(db: Session) -> dict[str, int]:
    """Inbox rows by state (states with none left out), without reading every row's state.

    Only pending, failed and ignored rows are indexed by state (`sync.models.INBOX_PENDING`): each of those
    counts reads its own index, the applied rows are the rest of a count of the whole table, which reads
    the primary key's index. A GROUP BY state would read the whole table, payloads and all, per scrape.
    """
    def counted(condition: ColumnElement[bool] | None) -> ScalarSelect[int]:
        query = select(func.count()).select_from(InboundEvent)
        return (query if condition is None else query.where(condition)).scalar_subquery()

    pending, failed, ignored, total = db.execute(select(
        counted(INBOX_PENDING), counted(INBOX_FAILED), counted(INBOX_IGNORED), counted(None))).one()
    counts = {InboxState.PENDING: pending, InboxState.FAILED: failed, InboxState.IGNORED: ignored,
              InboxState.APPLIED: total - pending - failed - ignored}
    return {state.value: n for state, n in counts.items() if n}


def live_tickets_by_project(db: Session) -> dict[str, tuple[datetime, int]]:
    """Each project's newest `jira_updated_at` and count of live tickets (projects without any left out).

    Exact, and read from the live tickets' index by project and update time (`ix_tickets_live_project_updated`,
    migration 0019) alone, in project order: an index-only scan of two narrow columns per ticket instead of
    every ticket row. The WHERE is spelt as the index's (`LIVE_TICKET`), or PostgreSQL would not use it.
    """
    rows = db.execute(select(Ticket.project_key, func.max(Ticket.jira_updated_at), func.count())
                      .where(LIVE_TICKET).group_by(Ticket.project_key))
    return {project: (newest, count) for project, newest, count in rows}


def snapshot(runtime: Runtime, failed_limit: int = 20) -> dict[str, Any]:
    """Everything an admin (or a scraper) needs to judge whether the mirror keeps up."""
    now = utcnow()
    with runtime.sessions() as db:
        backlog = _by_state(db)
        deferred = db.scalar(select(func.count()).select_from(InboundEvent).where(
            INBOX_PENDING, InboundEvent.retry_at.is_not(None))) or 0
        oldest_pending = db.scalar(select(func.min(InboundEvent.received_at)).where(INBOX_PENDING))
        top = db.scalar(select(func.max(InboundEvent.id))) or 0
        recent = InboundEvent.id > top - RECENT_DELIVERIES
        events = {p: (ts, rec) for p, ts, rec in db.execute(
            select(InboundEvent.project_key, func.max(InboundEvent.event_timestamp), func.max(InboundEvent.received_at))
            .where(recent, InboundEvent.state == InboxState.APPLIED, InboundEvent.project_key.is_not(None))
            .group_by(InboundEvent.project_key)) if p is not None}
        tickets = live_tickets_by_project(db)
        failed = db.scalars(select(InboundEvent).where(INBOX_FAILED)
                            .order_by(InboundEvent.id.desc()).limit(failed_limit)).all()
        states = db.scalars(select(SyncState).where(SyncState.name.like("reconcile:%"))).all()
        failed_json = [{"id": r.id, "delivery_id": r.delivery_id, "event": r.webhook_event, "issue_key": r.issue_key,
                        "reason": r.reason, "attempts": r.attempts, "received_at": _iso(r.received_at)}
                       for r in failed]
        watermarks = {s.name.split(":", 1)[1]: {**(s.value or {}), "watermark": _iso(_from_ms(
            (s.value or {}).get("watermark_ms"))), "updated_at": _iso(s.updated_at)} for s in states}
    projects: dict[str, Any] = {}
    for project in sorted(set(events) | set(tickets) | set(watermarks)):
        event_ms, received = events.get(project, (None, None))
        jira_updated, count = tickets.get(project, (None, 0))
        newest = max((t for t in (_from_ms(event_ms), jira_updated) if t is not None), default=None)
        projects[project] = {
            "tickets": count, "newest_applied_event_at": _iso(_from_ms(event_ms)),
            "newest_jira_updated_at": _iso(jira_updated), "last_event_received_at": _iso(received),
            # Time since the newest change the store holds; grows when webhooks stop arriving.
            "lag_seconds": round((now - newest).total_seconds(), 3) if newest else None,
            "reconcile": watermarks.get(project)}
    return {"generated_at": _iso(now), "projects": projects,
            "inbox": {"by_state": backlog, "deferred": deferred,
                      "oldest_pending_age_seconds": round((now - oldest_pending).total_seconds(), 3)
                      if oldest_pending else None},
            "failed_events": failed_json, "jsm_calls": jsm_call_totals(_redis(runtime)),
            "reconcile_watermarks": watermarks, "jsm_auth_failure": _auth_json(last_auth_failure(_redis(runtime)))}


def _auth_json(failure: dict[str, Any] | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {**failure, "at": _iso(datetime.fromtimestamp(failure["at"], UTC))}


def _redis(runtime: Runtime) -> redis.Redis | None:
    try:
        return runtime.redis
    except Exception:  # an unreachable embedded Redis must not break the health page
        return None
