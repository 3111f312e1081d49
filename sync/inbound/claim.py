"""Taking inbox rows to apply: pending rows due now, oldest first, locked so other drains skip them.

A drain holds its rows as plain `InboxRow`s, not ORM objects: loading, tracking and flushing 200
`InboundEvent`s per batch was a tenth of the apply's CPU (bench/apply.py under cProfile), and their
outcomes are written as sets anyway (`sync.inbound.outcomes.write_outcomes`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, or_, select, update
from sqlalchemy.orm import Session

from sync.inbound.sql import one_of
from sync.models import INBOX_PENDING, InboundEvent, InboxState, utcnow

INBOX: Table = InboundEvent.__table__  # type: ignore[assignment]
_READ = (INBOX.c.id, INBOX.c.payload, INBOX.c.attempts, INBOX.c.webhook_event, INBOX.c.issue_key,
         INBOX.c.request_id)


@dataclass(eq=False)
class InboxRow:
    """One claimed inbox row; `state`, `reason`, `retry_at`, `applied_at` are its outcome once applied."""

    id: int
    payload: str
    attempts: int
    webhook_event: str
    issue_key: str | None
    request_id: str | None
    state: InboxState = InboxState.PENDING
    reason: str | None = None
    retry_at: datetime | None = None
    applied_at: datetime | None = None
    _body: Any = None

    def body(self) -> Any:
        """The payload parsed (once: the apply and the attachment check both read it); ValueError if not JSON."""
        if self._body is None:
            self._body = parse_json(self.payload)
        return self._body


def parse_json(payload: str) -> Any:
    """`json.loads`, three times faster: orjson, and the standard library for what orjson refuses.

    orjson takes strict JSON only; the receiver stored whatever `json.loads` took (NaN, integers past 64
    bits, lone surrogates), so such a payload is read as before. Decoding was a fifth of a drain's CPU.
    """
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


def claim(session: Session, limit: int, ids: list[int] | None = None, *, count: bool) -> list[InboxRow]:
    """Pending rows due now (or the pending ones of `ids`), oldest first, locked and skipped by other drains.

    `count`: count the rows' attempt in the same statement (UPDATE … RETURNING). SQLite needs it: this
    first write takes the database's write lock before any read, so the batch's reads and writes are one
    consistent transaction (a read first would open a snapshot whose later upgrade fails, "database is
    locked"). PostgreSQL counts the attempt with the outcome instead: one new row version, not two.
    """
    wanted = select(INBOX.c.id).where(INBOX_PENDING)
    if ids is None:
        wanted = wanted.where(or_(INBOX.c.retry_at.is_(None), INBOX.c.retry_at <= utcnow()))
    else:
        wanted = wanted.where(one_of(session, InboundEvent.id, ids))
    # SKIP LOCKED lets several workers drain in parallel on PostgreSQL without taking the same rows.
    wanted = wanted.order_by(INBOX.c.id).limit(limit).with_for_update(skip_locked=True)
    connection = session.connection()
    if count:
        result = connection.execute(update(INBOX).where(INBOX.c.id.in_(wanted.scalar_subquery()))
                                    .values(attempts=INBOX.c.attempts + 1).returning(*_READ)).all()
        rows = sorted((InboxRow(*r) for r in result), key=lambda r: r.id)  # RETURNING keeps no order
    else:
        rows = [InboxRow(*r) for r in connection.execute(wanted.with_only_columns(*_READ)).all()]
    return rows
