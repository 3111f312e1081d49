"""Applying inbox rows: a batch together (one transaction, shared lookups), else row by row.

`sync.jobs.drain_inbox` asks for batches (`apply_ready`); this module claims the rows and decides each
row's state (applied, ignored, failed with a reason, or pending again with a retry time).

A batch runs without a savepoint: when any of its rows breaks it, the whole transaction rolls back
and a new one claims the same rows again and applies them one by one, each in its own savepoint.
That fallback is rare; a savepoint around every batch cost two round trips each time.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from sync.inbound.batch import BatchCache
from sync.inbound.claim import InboxRow, claim, parse_json
from sync.inbound.outcomes import Row, defer, fail, set_outcome, write_outcomes
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
# changes visible sooner; at 200 a batch takes about 0.1 s to apply on PostgreSQL (bench/apply.py).
BATCH_SIZE = 200

# What a payload that is not an event this service understands raises while parsed.
UNPARSABLE = (NotAWebhook, ValueError, KeyError, TypeError)

SiteFields = tuple[frozenset[str], frozenset[str]]


def _site_fields(session: Session) -> SiteFields:
    # The recorded Organizations and participants field ids: an empty one then un-shares the request, or
    # leaves it with no participants (site_fields.py). Read once per batch.
    return organisations_fields(session), participants_fields(session)


def _parse(row: Row, fields: SiteFields) -> Event:
    body = row.body() if isinstance(row, InboxRow) else parse_json(row.payload)
    return normalise(body, *fields)


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
    _apply_one(row, session, runtime, mapping, batch, _site_fields(session), retry_conflict=False)


def _apply_one(row: Row, session: Session, runtime: Runtime, mapping: Mapping, batch: BatchCache | None,
               fields: SiteFields, *, retry_conflict: bool) -> str:
    """Apply a row in its own savepoint: "ok", "rolled_back", or "conflict" (to retry, when allowed)."""
    rolled_back = False
    try:
        # Data Center comment events carry no `jsdPublic`: ask JSM (Deferred if it cannot answer now).
        known = batch.comments.__contains__ if batch is not None else None
        event = with_comment_visibility(_parse(row, fields), runtime, session=session, known=known)
        rolled_back = True  # until the savepoint below is released
        with session.begin_nested():
            result = _apply_event(session, event, mapping, batch)
            if batch is not None:
                batch.settle(session)  # this row's held history belongs in its own savepoint
        rolled_back = False
        set_outcome(row, event, result)
    except Deferred as exc:
        defer(row, exc)
    except UNPARSABLE as exc:
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


def _parse_rows(rows: list[InboxRow], fields: SiteFields) -> list[tuple[InboxRow, Event]]:
    """The rows' events; a row that is not one fails (its outcome set) and is left out."""
    parsed: list[tuple[InboxRow, Event]] = []
    for row in rows:
        try:
            parsed.append((row, _parse(row, fields)))
        except UNPARSABLE as exc:
            fail(row, exc)
    return parsed


def apply_together(session: Session, rows: list[InboxRow], parsed: list[tuple[InboxRow, Event]], runtime: Runtime,
                   mapping: Mapping, *, counted: bool) -> None:
    """Apply parsed rows with one cache and no savepoint; any unexpected error aborts them all (the caller's
    transaction then rolls back). `counted`: the rows' attempts are written already, else with the outcomes."""
    batch = BatchCache.load(session, [event for _, event in parsed])
    now = utcnow()
    for row, event in parsed:
        try:
            event = with_comment_visibility(event, runtime, session=session, known=batch.comments.__contains__)
            result = _apply_event(session, event, mapping, batch)
        except Deferred as exc:
            if not isinstance(event, CommentEvent):
                raise  # an issue event may have written before: let the per-row path roll it back alone
            defer(row, exc)  # raised before the comment wrote anything: nothing to undo
            continue
        set_outcome(row, event, result, now)
    batch.settle(session)
    write_outcomes(session, rows, count_attempt=not counted)


@dataclass(eq=False)
class ClaimedBatch:
    """Rows claimed (locked) in a transaction still open, their events parsed: `apply_claimed` finishes it.

    Claiming and parsing are apart from applying so that a drain can claim and parse its next batch on a
    second connection while this batch's writes run (`sync.inbound.prefetch`).
    """

    session: Session
    rows: list[InboxRow]
    parsed: list[tuple[InboxRow, Event]]
    counted: bool
    claimed_at: float  # wall clock (time.time()), for the drain's log of each batch

    def release(self) -> None:
        """Give the rows back untouched (pending, their attempt not counted): the transaction rolls back."""
        self.session.close()


def claim_batch(runtime: Runtime, limit: int, ids: list[int] | None = None) -> ClaimedBatch:
    """Claim up to `limit` ready rows (or the pending ones of `ids`) in a new transaction and parse them."""
    # On SQLite the claim counts the attempts (it takes the write lock, `claim`); on PostgreSQL each
    # row's attempt is written with its outcome: one UPDATE of the whole batch fewer.
    counted = runtime.engine.dialect.name == "sqlite"
    session = runtime.sessions()
    claimed_at = time.time()
    try:
        session.begin()
        rows = claim(session, limit, ids, count=counted)
        if not counted:
            for row in rows:
                row.attempts += 1  # this attempt, written with the outcome
        parsed = _parse_rows(rows, _site_fields(session)) if rows else []
    except BaseException:
        session.close()
        raise
    return ClaimedBatch(session, rows, parsed, counted, claimed_at)


class _BatchFailed(Exception):
    """Raised when a batch failed together; carries the rows to apply one by one."""

    def __init__(self, rows: list[InboxRow], cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.rows = rows


def apply_claimed(claimed: ClaimedBatch, runtime: Runtime, mapping: Mapping) -> list[InboxRow]:
    """Apply a claimed batch together and commit; returns the rows with their outcomes.

    If the batch fails, its transaction rolls back (its attempts uncounted) and a new one claims the
    same rows again, counts their attempt once, and applies them one by one: a poison row fails alone.
    Rows another drain claimed meanwhile are not among those returned.
    """
    session = claimed.session
    try:
        try:
            if claimed.rows:
                apply_together(session, claimed.rows, claimed.parsed, runtime, mapping, counted=claimed.counted)
        except Exception as exc:  # whatever it was, the per-row pass below isolates (or re-raises) it
            session.rollback()
            raise _BatchFailed(claimed.rows, exc) from exc
        session.commit()
        return claimed.rows
    except _BatchFailed as failed:
        log.info("inbox batch of %d rows failed together (%s); applying them one by one", len(failed.rows), failed)
        ids = [row.id for row in failed.rows]
    finally:
        session.close()
    with runtime.sessions() as session, session.begin():
        rows = claim(session, len(ids), ids, count=True)  # outside the per-row savepoints: kept whatever each does
        _apply_one_by_one(session, rows, runtime, mapping)
    return rows


def apply_ready(runtime: Runtime, mapping: Mapping, limit: int, ids: list[int] | None = None) -> list[InboxRow]:
    """Claim up to `limit` ready rows (or the pending ones of `ids`), apply them together and commit."""
    return apply_claimed(claim_batch(runtime, limit, ids), runtime, mapping)


def _apply_one_by_one(session: Session, rows: list[InboxRow], runtime: Runtime, mapping: Mapping) -> None:
    fields = _site_fields(session)
    batch: BatchCache | None = None
    for row in rows:
        for retry_conflict in (True, False):
            if batch is None:
                batch = BatchCache.load(session, _events(rows, fields))
            outcome = _apply_one(row, session, runtime, mapping, batch, fields, retry_conflict=retry_conflict)
            if outcome != "ok":
                batch = None  # its savepoint rolled back: objects it created left the session, reload
            if outcome != "conflict":
                break
    write_outcomes(session, rows, count_attempt=False)


def _events(rows: list[InboxRow], fields: SiteFields) -> list[Event]:
    events = []
    for row in rows:
        with contextlib.suppress(*UNPARSABLE):
            events.append(_parse(row, fields))
    return events
