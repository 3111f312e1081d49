"""Writing what an inbox batch (or a reconcile page) changed: a few multi-row statements, not one per row.

Each statement keeps the apply's rules in SQL too, so a row another drain wrote in between (a ticket
two drains both saw as new) is still order-safe: an older image never overwrites a newer one (unless
the stored time is implausibly far in the future, `sync.inbound.order`), and a deleted ticket or
comment stays deleted unless reconciliation restores it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.inbound.order import trust_limit
from sync.inbound.rows import COMMENT_COLUMNS, TICKET_COLUMNS, CommentRow, HistoryRow, TicketRow
from sync.models import Comment, StatusHistory, Ticket, TicketParticipant

# Rows per call. SQLAlchemy's "insertmanyvalues" sends them as multi-row INSERTs (paged to the
# driver's parameter limit) from one cached single-row statement: a `.values([...])` of hundreds of
# rows was compiled afresh every time, which cost more than the database took to run it.
CHUNK = 1000

TICKETS: Table = Ticket.__table__  # type: ignore[assignment]
COMMENTS: Table = Comment.__table__  # type: ignore[assignment]
HISTORY: Table = StatusHistory.__table__  # type: ignore[assignment]
PARTICIPANTS: Table = TicketParticipant.__table__  # type: ignore[assignment]


def _insert(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT, in the session's dialect (both spell it alike; SQLAlchemy has one of each)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _chunks(rows: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _not_older(stored: Any, incoming: Any) -> ColumnElement[bool]:
    """Order safety in SQL: the incoming time is not older than the stored one, or the stored one is untrusted."""
    return or_(stored <= incoming, stored > trust_limit())


def _ticket_upsert(session: Session) -> Any:
    stmt = _insert(session, TICKETS)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[TICKETS.c.jira_id],
        set_={name: excluded[name] for name in TICKET_COLUMNS if name not in ("jira_id", "created_at")},
        where=and_(_not_older(TICKETS.c.jira_updated_at, excluded.jira_updated_at),
                   or_(TICKETS.c.deleted.is_(False), excluded.deleted.is_(True))))


def write_tickets(session: Session, rows: Iterable[TicketRow]) -> None:
    """Upsert the changed tickets (new ones get their ids), then their participants."""
    changed = [r for r in rows if r.changed()]
    stored = [r.image() for r in changed if r.id is not None]
    if stored:
        # Their ids are known: no RETURNING, so the driver runs one prepared statement for them all
        # (psycopg's pipeline), instead of parsing a multi-row statement of thousands of parameters.
        session.execute(_ticket_upsert(session), stored)
    new = [r for r in changed if r.id is None]
    for chunk in _chunks(new):
        ids = dict((jira_id, id_) for id_, jira_id in session.execute(
            _ticket_upsert(session).returning(TICKETS.c.id, TICKETS.c.jira_id), [r.image() for r in chunk]))
        missing = [r.jira_id for r in chunk if r.jira_id not in ids]
        if missing:  # inserted meanwhile by another drain, whose newer row the guard kept
            ids.update(session.execute(select(TICKETS.c.jira_id, TICKETS.c.id).where(
                TICKETS.c.jira_id.in_(missing))).tuples())
        for row in chunk:
            row.id = ids[row.jira_id]
    _write_participants(session, [r for r in rows if r.participants != (r.stored_participants or ())])
    for row in changed:
        row.mark_stored()


def _write_participants(session: Session, rows: list[TicketRow]) -> None:
    """Make the participant rows of these tickets JSM's lists (all of a changed ticket's rows, rewritten)."""
    if not rows:
        return
    session.execute(delete(PARTICIPANTS).where(PARTICIPANTS.c.ticket_id.in_([r.id for r in rows])))
    pairs = [{"ticket_id": r.id, "account_id": a} for r in rows for a in r.participants]
    for chunk in _chunks(pairs):
        session.execute(_insert(session, PARTICIPANTS).on_conflict_do_nothing(), list(chunk))
    for row in rows:
        row.stored_participants = row.participants


def write_comments(session: Session, rows: Iterable[CommentRow]) -> None:
    """Upsert the changed comments (after their tickets, which give new ones their `ticket_id`)."""
    changed = [r for r in rows if r.changed()]
    for chunk in _chunks(changed):
        stmt = _insert(session, COMMENTS)
        excluded = stmt.excluded
        restored = [r.id for r in chunk if r.restored and r.id is not None]
        stays_deleted = or_(COMMENTS.c.deleted.is_(False), excluded.deleted.is_(True),
                            *([COMMENTS.c.id.in_(restored)] if restored else []))
        stmt = stmt.on_conflict_do_update(
            index_elements=[COMMENTS.c.jira_id],
            set_={name: excluded[name] for name in COMMENT_COLUMNS
                  if name not in ("jira_id", "created_at", "ticket_id")},
            where=and_(_not_older(COMMENTS.c.updated_at, excluded.updated_at), stays_deleted),
        ).returning(COMMENTS.c.id, COMMENTS.c.jira_id)
        ids = dict((jira_id, id_) for id_, jira_id in session.execute(stmt, [r.image() for r in chunk]))
        for row in chunk:
            row.id = row.id if row.id is not None else ids.get(row.jira_id)
            row.restored = False
            row.mark_stored()


def write_history(session: Session, rows: list[HistoryRow]) -> None:
    """Add the batch's history entries the store does not hold yet (same changelog, or same status and time)."""
    if not rows:
        return
    stored: dict[int, list[tuple[str, Any, str | None]]] = {}
    for ticket_id, status, at, changelog_id in session.execute(
            select(HISTORY.c.ticket_id, HISTORY.c.customer_status, HISTORY.c.at, HISTORY.c.changelog_id)
            .where(HISTORY.c.ticket_id.in_({r.ticket.id for r in rows}))):
        stored.setdefault(ticket_id, []).append((status, at, changelog_id))
    new = [r for r in rows if r.ticket.id is not None
           and not any(r.same_change(*entry) for entry in stored.get(r.ticket.id, ()))]
    values = [{"ticket_id": r.ticket.id, "customer_status": r.customer_status, "jira_status_name": r.jira_status_name,
               "at": r.at, "changelog_id": r.changelog_id} for r in new]
    for chunk in _chunks(values):
        # The unique (ticket, changelog) constraint is the last word for a redelivery another drain wrote.
        session.execute(_insert(session, HISTORY).on_conflict_do_nothing(), list(chunk))
