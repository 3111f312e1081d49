"""How an inbox row ends: applied, ignored, failed with a reason, or pending again with a retry time.

A row alone gets its outcome as ORM attribute changes. A batch's rows get theirs in one UPDATE per
distinct outcome (`mark_batch`): flushed row by row, the inbox rows' two updates (attempts, then the
outcome) cost about as much as writing the tickets themselves (bench/apply.py under cProfile).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sync.inbound.order import ApplyResult
from sync.inbound.sql import one_of
from sync.jsm.events import Event
from sync.models import InboundEvent, InboxState, utcnow

# A deferred event (its ticket not mirrored yet) is retried this many times, then marked failed;
# reconciliation brings the ticket and its comments in any case.
MAX_DEFERRALS = 5


def outcome(event: Event, result: ApplyResult | None) -> tuple[InboxState, str]:
    """The state and reason of a row whose event was applied (None: a kind that is not mirrored)."""
    if result is None:
        return InboxState.IGNORED, f"event kind {event.kind} is not mirrored"
    return InboxState.APPLIED, result.reason


def set_outcome(row: InboundEvent, event: Event, result: ApplyResult | None) -> None:
    row.state, row.reason = outcome(event, result)
    if row.state == InboxState.APPLIED:
        row.applied_at = utcnow()


def fail(row: InboundEvent, exc: Exception) -> None:
    row.state, row.reason = InboxState.FAILED, f"{type(exc).__name__}: {exc}"


def defer(row: InboundEvent, exc: Exception) -> None:
    if row.attempts >= MAX_DEFERRALS:
        row.state, row.reason = InboxState.FAILED, f"{exc}; gave up after {row.attempts} attempts"
    else:
        row.reason = f"deferred: {exc}"
        row.retry_at = utcnow() + timedelta(seconds=15 * row.attempts)


def count_attempts(session: Session, rows: list[InboundEvent]) -> None:
    """Count one more attempt for each row, in one UPDATE (the row objects learn it without a flush)."""
    if not rows:
        return
    session.execute(update(InboundEvent).where(one_of(session, InboundEvent.id, [r.id for r in rows]))
                    .values(attempts=InboundEvent.attempts + 1).execution_options(synchronize_session=False))
    for row in rows:
        set_committed_value(row, "attempts", row.attempts + 1)


def mark_batch(session: Session, outcomes: list[tuple[InboundEvent, InboxState, str]], *,
               count_attempt: bool) -> None:
    """Write the outcomes of a batch's applied (or ignored) rows, one UPDATE per distinct outcome.

    `count_attempt`: the same UPDATE counts the rows' attempt (not written before).
    """
    now = utcnow()
    groups: dict[tuple[InboxState, str], list[InboundEvent]] = defaultdict(list)
    for row, state, reason in outcomes:
        groups[state, reason].append(row)
    for (state, reason), rows in groups.items():
        values = {"state": state, "reason": reason, **({"applied_at": now} if state == InboxState.APPLIED else {})}
        attempts = {"attempts": InboundEvent.attempts + 1} if count_attempt else {}
        session.execute(update(InboundEvent).where(one_of(session, InboundEvent.id, [r.id for r in rows]))
                        .values(**values, **attempts).execution_options(synchronize_session=False))
        for row in rows:
            for name, value in values.items():
                set_committed_value(row, name, value)
            if count_attempt:
                set_committed_value(row, "attempts", row.attempts + 1)
