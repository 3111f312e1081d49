"""RQ job entry points. Jobs take ids (or nothing) and find their connections through the runtime."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from sync.events import CommentEvent, Event, IssueEvent, NotAWebhook, normalise
from sync.inbound import ApplyResult, Deferred, apply_comment_event, apply_issue_event
from sync.inbound_batch import BatchCache
from sync.jsm_visibility import with_comment_visibility
from sync.models import InboundEvent, utcnow
from sync.queues import clear_drain_request, request_inbox_drain
from sync.runtime import get_runtime
from sync.sync_health import publish_jsm_calls

if TYPE_CHECKING:
    from mappings import Mapping

log = logging.getLogger(__name__)

BATCH_SIZE = 200
# A deferred event (its ticket not mirrored yet) is retried this many times, then marked failed;
# reconciliation brings the ticket and its comments in any case.
MAX_DEFERRALS = 5


def _parse(row: InboundEvent) -> Event:
    return normalise(json.loads(row.payload))


def _apply_event(session: Session, event: Event, mapping: Mapping, batch: BatchCache | None) -> ApplyResult | None:
    if isinstance(event, IssueEvent):
        return apply_issue_event(session, event, mapping, batch=batch)
    if isinstance(event, CommentEvent):
        return apply_comment_event(session, event, batch=batch)
    return None


def _set_outcome(row: InboundEvent, event: Event, result: ApplyResult | None) -> None:
    if result is None:
        row.state, row.reason = "ignored", f"event kind {event.kind} is not mirrored"
    else:
        row.state, row.reason, row.applied_at = "applied", result.reason, utcnow()


def _defer(row: InboundEvent, exc: Exception) -> None:
    if row.attempts >= MAX_DEFERRALS:
        row.state, row.reason = "failed", f"{exc}; gave up after {row.attempts} attempts"
    else:
        row.reason = f"deferred: {exc}"
        row.retry_at = utcnow() + timedelta(seconds=15 * row.attempts)


def apply_inbox_row(row: InboundEvent, session: Session, mapping: Mapping, batch: BatchCache | None = None) -> bool:
    """Apply one inbox row in its own savepoint inside the caller's transaction; True if that rolled back."""
    row.attempts += 1
    return _apply_one(row, session, mapping, batch)


def _apply_one(row: InboundEvent, session: Session, mapping: Mapping, batch: BatchCache | None) -> bool:
    rolled_back = False
    try:
        # Data Center comment events carry no `jsdPublic`: ask JSM (Deferred if it cannot answer now).
        known = batch.comments.__contains__ if batch is not None else None
        event = with_comment_visibility(_parse(row), session=session, known=known)
        rolled_back = True  # until the savepoint below is released
        with session.begin_nested():
            result = _apply_event(session, event, mapping, batch)
        rolled_back = False
        _set_outcome(row, event, result)
    except Deferred as exc:
        _defer(row, exc)
    except (NotAWebhook, ValueError, KeyError, TypeError) as exc:
        row.state, row.reason = "failed", f"{type(exc).__name__}: {exc}"
    except (IntegrityError, DataError) as exc:
        # The row's savepoint is rolled back; alone in it, this row breaks a constraint by itself.
        row.state, row.reason = "failed", f"{type(exc).__name__}: {str(exc.orig).strip()[:500]}"
    except OperationalError as exc:
        # A deadlock or lock timeout: try again later (the connection itself is still usable).
        _defer(row, exc)
    return rolled_back


def _apply_together(session: Session, rows: list[InboundEvent], mapping: Mapping) -> None:
    """Apply rows with one cache and no per-row savepoint; any unexpected error aborts them all."""
    parsed: list[tuple[InboundEvent, Event]] = []
    for row in rows:
        try:
            parsed.append((row, _parse(row)))
        except (NotAWebhook, ValueError, KeyError, TypeError) as exc:
            row.state, row.reason = "failed", f"{type(exc).__name__}: {exc}"
    batch = BatchCache.load(session, [event for _, event in parsed])
    for row, event in parsed:
        try:
            event = with_comment_visibility(event, session=session, known=batch.comments.__contains__)
            result = _apply_event(session, event, mapping, batch)
        except Deferred as exc:
            if not isinstance(event, CommentEvent):
                raise  # an issue event may have written before: let the per-row path roll it back alone
            _defer(row, exc)  # raised before the comment wrote anything: nothing to undo
            continue
        _set_outcome(row, event, result)
    session.flush()  # inside the batch's savepoint, so a failing write falls back to per-row


def apply_inbox_rows(session: Session, rows: list[InboundEvent], mapping: Mapping) -> None:
    """Apply a batch of inbox rows: together in one savepoint, or row by row if that fails."""
    for row in rows:
        row.attempts += 1
    # Written before the savepoint (kept if it rolls back). On SQLite this first write also takes the
    # write lock while no read snapshot is open: a SAVEPOINT opened first would start a read
    # transaction whose later upgrade fails at once ("database is locked") instead of waiting.
    session.flush()
    try:
        with session.begin_nested():
            _apply_together(session, rows, mapping)
        return
    except Exception as exc:  # whatever it was, the per-row pass below isolates (or re-raises) it
        # The savepoint's rollback expired the rows and the batch's objects: start again from the database.
        log.info("inbox batch of %d rows failed together (%s: %s); applying them one by one",
                 len(rows), type(exc).__name__, exc)
    batch: BatchCache | None = None
    for row in rows:
        if batch is None:
            events = []
            for other in rows:
                with contextlib.suppress(NotAWebhook, ValueError, KeyError, TypeError):
                    events.append(_parse(other))
            batch = BatchCache.load(session, events)
        if _apply_one(row, session, mapping, batch):
            batch = None  # its savepoint rolled back: objects it created left the session, reload


def _ready_rows(session: Session, limit: int, ids: list[int] | None = None) -> list[InboundEvent]:
    now = utcnow()
    query = select(InboundEvent).where(InboundEvent.state == "pending")
    if ids is None:
        query = query.where(or_(InboundEvent.retry_at.is_(None), InboundEvent.retry_at <= now)).limit(limit)
    else:
        query = query.where(InboundEvent.id.in_(ids))
    # SKIP LOCKED lets several workers drain in parallel on PostgreSQL without taking the same rows.
    return list(session.scalars(query.order_by(InboundEvent.id).with_for_update(skip_locked=True)))


def drain_inbox(limit: int = BATCH_SIZE) -> dict[str, int]:
    """Apply ready inbox rows in batches until none is left; returns counts by resulting state."""
    runtime = get_runtime()
    clear_drain_request(runtime.redis)
    counts: dict[str, int] = {}
    mapping = runtime.mapping
    deferred: list[int] = []
    while True:
        with runtime.sessions() as session, session.begin():
            rows = _ready_rows(session, limit)
            apply_inbox_rows(session, rows, mapping)
            for row in rows:
                if row.state == "pending":
                    deferred.append(row.id)
                else:
                    counts[row.state] = counts.get(row.state, 0) + 1
        if len(rows) < limit:
            break
    if deferred and counts.get("applied"):
        # A comment often arrives before its issue: once this drain has applied other rows, the ticket
        # may exist now, so give the rows deferred during this drain one more try at once.
        with runtime.sessions() as session, session.begin():
            rows = _ready_rows(session, limit, deferred)
            apply_inbox_rows(session, rows, mapping)
            for row in rows:
                if row.state != "pending":
                    counts[row.state] = counts.get(row.state, 0) + 1
                    deferred.remove(row.id)
    if deferred:
        counts["deferred"] = len(deferred)
    # Calls the "ask JSM" path made for comment visibility, for the admin's "JSM calls" numbers.
    publish_jsm_calls(_redis_or_none(runtime), getattr(runtime, "_jsm_gateway", None))
    return counts


def _redis_or_none(runtime):  # type: ignore[no-untyped-def]
    try:
        return runtime.redis
    except Exception:  # statistics only: an unreachable Redis must not fail a job
        return None


def sweep() -> dict[str, int]:
    """Cron: re-enqueue work that a Redis outage or a killed worker left behind."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        pending = session.scalar(select(func.count()).select_from(InboundEvent)
                                 .where(InboundEvent.state == "pending")) or 0
    if pending:
        request_inbox_drain(runtime.redis)
    from sync.outbound_jobs import sweep_outbox  # issue #6: outbox actions stuck by Redis or a dead worker

    outbox = sweep_outbox()
    return {"inbox_pending": pending, **(outbox if outbox["outbox_due"] else {})}


def reconcile_incremental(project: str | None = None) -> dict[str, int]:
    """Cron: fetch what changed in JSM since the watermark (minus the overlap) and apply it."""
    return _reconcile(full=False, project=project)


def reconcile_full(project: str | None = None) -> dict[str, int]:
    """Compare every ticket with JSM, applying changes and hiding tickets deleted there."""
    return _reconcile(full=True, project=project)


def _reconcile(*, full: bool, project: str | None) -> dict[str, int]:
    from sync.jsm import JsmGateway
    from sync.reconcile import reconcile

    runtime = get_runtime()
    # Our own gateway, so its per-kind call counts can be published for the admin's sync health.
    gateway = JsmGateway.from_settings(runtime.settings, redis=_redis_or_none(runtime))
    try:
        return reconcile(runtime, full=full, project=project, gateway=gateway).as_dict()
    finally:
        publish_jsm_calls(_redis_or_none(runtime), gateway)


REPROJECT_PROGRESS_KEY = "companion:mapping:reproject"


def reproject_all(version: int | None = None) -> dict[str, object]:
    """Maintenance: re-project every ticket under the active mapping (after a publish), with progress."""
    import json as _json

    from sync import reproject
    from sync.mapping_store import forget_cache

    runtime = get_runtime()
    forget_cache()
    mapping = runtime.mapping

    def progress(done: int, total: int) -> None:
        runtime.redis.set(REPROJECT_PROGRESS_KEY, _json.dumps({"version": version, "done": done, "total": total,
                                                                "state": "running"}), ex=3600)

    with runtime.sessions() as session, session.begin():
        result = reproject.apply(session, mapping, progress)
    summary = {"version": version, "state": "done", **result.as_dict()}
    runtime.redis.set(REPROJECT_PROGRESS_KEY, _json.dumps(summary), ex=86_400)
    return summary


def discover_vocabulary() -> dict[str, int]:
    """Maintenance (hourly): ask JSM for every status, priority and request type (the unmapped report)."""
    from sync.vocabulary import discover

    found = discover(get_runtime())
    return {name: len(found[name]) for name in ("statuses", "priorities", "request_types")}
