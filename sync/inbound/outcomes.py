"""How an inbox row ends: applied, ignored, failed with a reason, or pending again with a retry time.

A row alone (an ORM `InboundEvent`) gets its outcome as attribute changes the session flushes. A
drain's rows (`sync.inbound.claim.InboxRow`) get theirs written as sets (`write_outcomes`): flushed
row by row, the inbox rows' updates cost about as much as writing the tickets themselves
(bench/apply.py under cProfile).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from sync.inbound.claim import INBOX, InboxRow
from sync.inbound.order import ApplyResult
from sync.inbound.sql import one_of
from sync.jsm.events import Event
from sync.models import InboundEvent, InboxState, utcnow

# A deferred event (its ticket not mirrored yet) is retried this many times, then marked failed;
# reconciliation brings the ticket and its comments in any case.
MAX_DEFERRALS = 5

Row = InboundEvent | InboxRow


def outcome(event: Event, result: ApplyResult | None) -> tuple[InboxState, str]:
    """The state and reason of a row whose event was applied (None: a kind that is not mirrored)."""
    if result is None:
        return InboxState.IGNORED, f"event kind {event.kind} is not mirrored"
    return InboxState.APPLIED, result.reason


def set_outcome(row: Row, event: Event, result: ApplyResult | None, now: datetime | None = None) -> None:
    row.state, row.reason = outcome(event, result)
    if row.state == InboxState.APPLIED:
        row.applied_at = now or utcnow()


def fail(row: Row, exc: Exception) -> None:
    row.state, row.reason = InboxState.FAILED, f"{type(exc).__name__}: {exc}"


def defer(row: Row, exc: Exception) -> None:
    """Pending again with a later retry time; `row.attempts` already counts this attempt."""
    if row.attempts >= MAX_DEFERRALS:
        row.state, row.reason = InboxState.FAILED, f"{exc}; gave up after {row.attempts} attempts"
    else:
        row.reason = f"deferred: {exc}"
        row.retry_at = utcnow() + timedelta(seconds=15 * row.attempts)


def write_outcomes(session: Session, rows: list[InboxRow], *, count_attempt: bool) -> None:
    """Write the rows' outcomes, one UPDATE per distinct outcome (a batch's rows mostly share one or two).

    `count_attempt`: the same UPDATE counts the rows' attempt (not written when they were claimed).
    """
    groups: dict[tuple[InboxState, str | None, datetime | None, datetime | None], list[int]] = defaultdict(list)
    for row in rows:
        groups[row.state, row.reason, row.applied_at, row.retry_at].append(row.id)
    connection = session.connection()
    for (state, reason, applied_at, retry_at), ids in groups.items():
        values: dict[str, object] = {"state": state, "reason": reason}
        # Only what this attempt decided: an applied row keeps the retry time of its last deferral.
        values.update({k: v for k, v in (("applied_at", applied_at), ("retry_at", retry_at)) if v is not None})
        if count_attempt:
            values["attempts"] = INBOX.c.attempts + 1
        connection.execute(update(INBOX).where(one_of(session, InboundEvent.id, ids)).values(**values))
