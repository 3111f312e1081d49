"""Applying inbox rows: a batch together (one savepoint, shared lookups), else row by row.

`sync.jobs.drain_inbox` takes the rows; this module decides each row's state (applied, ignored,
failed with a reason, or pending again with a retry time).
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from sync.inbound.batch import BatchCache
from sync.inbound.outcomes import count_attempts, defer, fail, mark_batch, outcome, set_outcome
from sync.inbound.site_fields import organisations_fields, participants_fields
from sync.inbound.upsert import ApplyResult, Deferred, apply_comment_event, apply_issue_event
from sync.inbound.visibility import with_comment_visibility
from sync.jsm.events import CommentEvent, Event, IssueEvent, NotAWebhook, normalise
from sync.models import InboundEvent, InboxState, utcnow

if TYPE_CHECKING:
    from mappings import Mapping
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

# Rows per transaction. Larger batches amortise the per-batch reads and commit, smaller ones make
# changes visible sooner; at 200 a batch takes about 0.2 s to apply on PostgreSQL (bench/apply.py).
BATCH_SIZE = 200


def _parse(row: InboundEvent, session: Session) -> Event:
    # The recorded Organizations and participants field ids: an empty one then un-shares the request, or
    # leaves it with no participants (site_fields.py).
    return normalise(json.loads(row.payload), organisations_fields(session), participants_fields(session))


def _apply_event(session: Session, event: Event, mapping: Mapping, batch: BatchCache | None) -> ApplyResult | None:
    if isinstance(event, IssueEvent):
        return apply_issue_event(session, event, mapping, batch=batch)
    if isinstance(event, CommentEvent):
        return apply_comment_event(session, event, batch=batch)
    return None


def apply_inbox_row(row: InboundEvent, session: Session, runtime: Runtime, mapping: Mapping,
                    batch: BatchCache | None = None) -> None:
    """Apply one inbox row in its own savepoint inside the caller's transaction and set its state."""
    row.attempts += 1
    _apply_one(row, session, runtime, mapping, batch, retry_conflict=False)


def _apply_one(row: InboundEvent, session: Session, runtime: Runtime, mapping: Mapping, batch: BatchCache | None,
               *, retry_conflict: bool) -> str:
    """Apply a row in its own savepoint: "ok", "rolled_back", or "conflict" (to retry, when allowed)."""
    rolled_back = False
    try:
        # Data Center comment events carry no `jsdPublic`: ask JSM (Deferred if it cannot answer now).
        known = batch.comments.__contains__ if batch is not None else None
        event = with_comment_visibility(_parse(row, session), runtime, session=session, known=known)
        rolled_back = True  # until the savepoint below is released
        with session.begin_nested():
            result = _apply_event(session, event, mapping, batch)
            if batch is not None:
                batch.settle(session)  # this row's held history belongs in its own savepoint
        rolled_back = False
        set_outcome(row, event, result)
    except Deferred as exc:
        defer(row, exc)
    except (NotAWebhook, ValueError, KeyError, TypeError) as exc:
        fail(row, exc)
    except (IntegrityError, DataError) as exc:
        if retry_conflict and isinstance(exc, IntegrityError):
            # PostgreSQL reports a unique violation only once the other drain that inserted the same
            # ticket (or comment) committed: read again and retry once, then it is this row's own fault.
            return "conflict"
        row.state, row.reason = InboxState.FAILED, f"{type(exc).__name__}: {str(exc.orig).strip()[:500]}"
    except OperationalError as exc:
        # A deadlock or lock timeout: try again later (the connection itself is still usable).
        defer(row, exc)
    return "rolled_back" if rolled_back else "ok"


def _apply_together(session: Session, rows: list[InboundEvent], runtime: Runtime, mapping: Mapping, *,
                    counted: bool) -> None:
    """Apply rows with one cache and no per-row savepoint; any unexpected error aborts them all.

    `counted`: the rows' attempts are written already; else each row's is counted with its outcome.
    """
    def attempt(row: InboundEvent) -> None:
        if not counted:
            row.attempts += 1

    parsed: list[tuple[InboundEvent, Event]] = []
    for row in rows:
        try:
            parsed.append((row, _parse(row, session)))
        except (NotAWebhook, ValueError, KeyError, TypeError) as exc:
            attempt(row)
            fail(row, exc)
    batch = BatchCache.load(session, [event for _, event in parsed])
    outcomes: list[tuple[InboundEvent, InboxState, str]] = []
    for row, event in parsed:
        try:
            event = with_comment_visibility(event, runtime, session=session, known=batch.comments.__contains__)
            result = _apply_event(session, event, mapping, batch)
        except Deferred as exc:
            if not isinstance(event, CommentEvent):
                raise  # an issue event may have written before: let the per-row path roll it back alone
            attempt(row)
            defer(row, exc)  # raised before the comment wrote anything: nothing to undo
            continue
        outcomes.append((row, *outcome(event, result)))
    batch.settle(session)  # inside the batch's savepoint, so a failing write falls back to per-row
    mark_batch(session, outcomes, count_attempt=not counted)
    session.flush()


def apply_inbox_rows(session: Session, rows: list[InboundEvent], runtime: Runtime, mapping: Mapping) -> None:
    """Apply a batch of inbox rows: together in one savepoint, or row by row if that fails."""
    # On SQLite the attempts are written first, before the savepoint: this first write takes the write
    # lock while no read snapshot is open (a SAVEPOINT opened first would start a read transaction
    # whose later upgrade fails at once, "database is locked", instead of waiting). On PostgreSQL each
    # row's attempt is written with its outcome: one UPDATE of the whole batch fewer.
    counted = session.get_bind().dialect.name == "sqlite"
    if counted:
        count_attempts(session, rows)
    try:
        with session.begin_nested():
            _apply_together(session, rows, runtime, mapping, counted=counted)
        return
    except Exception as exc:  # whatever it was, the per-row pass below isolates (or re-raises) it
        # Start again from the database: the rows' outcomes were set without the ORM knowing (it would
        # not see them as changed when the per-row pass sets them again), so read them afresh.
        for row in rows:
            session.expire(row)
        log.info("inbox batch of %d rows failed together (%s: %s); applying them one by one",
                 len(rows), type(exc).__name__, exc)
    if not counted:
        count_attempts(session, rows)  # outside the per-row savepoints: kept whatever each row does
    batch: BatchCache | None = None
    for row in rows:
        for retry_conflict in (True, False):
            if batch is None:
                batch = BatchCache.load(session, _events(rows, session))
            outcome = _apply_one(row, session, runtime, mapping, batch, retry_conflict=retry_conflict)
            if outcome != "ok":
                batch = None  # its savepoint rolled back: objects it created left the session, reload
            if outcome != "conflict":
                break


def _events(rows: list[InboundEvent], session: Session) -> list[Event]:
    events = []
    for row in rows:
        with contextlib.suppress(NotAWebhook, ValueError, KeyError, TypeError):
            events.append(_parse(row, session))
    return events


def ready_rows(session: Session, limit: int, ids: list[int] | None = None) -> list[InboundEvent]:
    """Pending rows due now (or those of `ids`), oldest first, locked and skipped by other drains."""
    now = utcnow()
    query = select(InboundEvent).where(InboundEvent.state == InboxState.PENDING)
    if ids is None:
        query = query.where(or_(InboundEvent.retry_at.is_(None), InboundEvent.retry_at <= now)).limit(limit)
    else:
        query = query.where(InboundEvent.id.in_(ids))
    # SKIP LOCKED lets several workers drain in parallel on PostgreSQL without taking the same rows.
    return list(session.scalars(query.order_by(InboundEvent.id).with_for_update(skip_locked=True)))
