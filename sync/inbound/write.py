"""Writing what an inbox batch (or a reconcile page) changed: one statement per table, not one per row.

Each is INSERT … ON CONFLICT executed for all the changed rows at once (the driver runs it prepared,
in one pipeline on PostgreSQL), never the ORM's unit of work, whose bookkeeping was most of the apply.

Each statement keeps the apply's rules in SQL too, so a row another drain wrote in between (a ticket
two drains both saw as new) is still order-safe: an older image never overwrites a newer one (unless
the stored time is implausibly far in the future, `sync.inbound.order`), and a deleted ticket or
comment stays deleted unless reconciliation restores it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from sync.inbound.order import trust_limit
from sync.inbound.rows import COMMENT_COLUMNS, TICKET_COLUMNS, CommentRow, HistoryRow, TicketRow
from sync.inbound.sql import one_of, upsert_into
from sync.models import Comment, StatusHistory, Ticket, TicketParticipant

TICKETS: Table = Ticket.__table__  # type: ignore[assignment]
COMMENTS: Table = Comment.__table__  # type: ignore[assignment]
HISTORY: Table = StatusHistory.__table__  # type: ignore[assignment]
PARTICIPANTS: Table = TicketParticipant.__table__  # type: ignore[assignment]


def _not_older(stored: Any, incoming: Any) -> ColumnElement[bool]:
    """Order safety in SQL: the incoming time is not older than the stored one, or the stored one is untrusted."""
    return or_(stored <= incoming, stored > trust_limit())


def _ticket_upsert(session: Session) -> Any:
    stmt = upsert_into(session, TICKETS)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[TICKETS.c.jira_id],
        set_={name: excluded[name] for name in TICKET_COLUMNS if name not in ("jira_id", "created_at")},
        where=and_(_not_older(TICKETS.c.jira_updated_at, excluded.jira_updated_at),
                   or_(TICKETS.c.deleted.is_(False), excluded.deleted.is_(True))))


def write_tickets(session: Session, rows: Iterable[TicketRow]) -> None:
    """Upsert the changed tickets (new ones get their ids), then their participants."""
    rows = list(rows)
    changed = [r for r in rows if r.changed()]
    if changed:
        # No RETURNING: the driver then runs one prepared statement for all rows (psycopg's pipeline).
        # With it, SQLAlchemy sends multi-row INSERTs of thousands of parameters that psycopg parses
        # afresh each time: the new tickets' ids cost four times their insert (bench/apply.py).
        session.execute(_ticket_upsert(session), [r.image() for r in changed])
    new = {r.jira_id: r for r in changed if r.id is None}
    if new:  # ids by jira_id, also of a ticket another drain inserted meanwhile (the guard kept its row)
        for jira_id, id_ in session.execute(select(TICKETS.c.jira_id, TICKETS.c.id).where(
                one_of(session, Ticket.jira_id, new))):
            new[jira_id].id = id_
    _write_participants(session, [r for r in rows if r.participants_changed()])
    for row in changed:
        row.mark_stored()


def _write_participants(session: Session, rows: list[TicketRow]) -> None:
    """Make the participant rows of these tickets JSM's lists (all of a changed ticket's rows, rewritten)."""
    if not rows:
        return
    session.execute(delete(PARTICIPANTS).where(one_of(session, TicketParticipant.ticket_id, [r.id for r in rows])))
    pairs = [{"ticket_id": r.id, "account_id": a} for r in rows for a in r.participants or ()]
    if pairs:
        session.execute(upsert_into(session, PARTICIPANTS).on_conflict_do_nothing(), pairs)
    for row in rows:
        row.stored_participants = row.participants or ()


def _comment_upsert(session: Session) -> Any:
    stmt = upsert_into(session, COMMENTS)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[COMMENTS.c.jira_id],
        set_={name: excluded[name] for name in COMMENT_COLUMNS if name not in ("jira_id", "created_at", "ticket_id")},
        where=and_(_not_older(COMMENTS.c.updated_at, excluded.updated_at),
                   or_(COMMENTS.c.deleted.is_(False), excluded.deleted.is_(True))))


def write_comments(session: Session, rows: Iterable[CommentRow]) -> None:
    """Upsert the changed comments (after their tickets, which give new ones their `ticket_id`)."""
    changed = [r for r in rows if r.changed()]
    restored = [r.id for r in changed if r.restored and r.id is not None]
    if restored:
        # Reconciliation found these listed in JSM: undo the wrong deletion first, on its own, so the
        # upsert's "a deletion is final" guard lets their current text through.
        session.execute(update(COMMENTS).where(one_of(session, Comment.id, restored)).values(deleted=False))
    if changed:  # no RETURNING, as for tickets; a new comment's id is never needed within its batch
        session.execute(_comment_upsert(session), [r.image() for r in changed])
    for row in changed:
        row.restored = False
        row.mark_stored()


def write_history(session: Session, rows: list[HistoryRow]) -> None:
    """Add the batch's history entries the store does not hold yet (same changelog, or same status and time)."""
    if not rows:
        return
    stored: dict[int, list[tuple[str, Any, str | None]]] = {}
    held = {r.ticket.id for r in rows if not r.first}
    for ticket_id, status, at, changelog_id in session.execute(
            select(HISTORY.c.ticket_id, HISTORY.c.customer_status, HISTORY.c.at, HISTORY.c.changelog_id)
            .where(one_of(session, StatusHistory.ticket_id, held))) if held else ():
        stored.setdefault(ticket_id, []).append((status, at, changelog_id))
    new = [r for r in rows if r.ticket.id is not None
           and not any(r.same_change(*entry) for entry in stored.get(r.ticket.id, ()))]
    values = [{"ticket_id": r.ticket.id, "customer_status": r.customer_status, "jira_status_name": r.jira_status_name,
               "at": r.at, "changelog_id": r.changelog_id} for r in new]
    if values:
        # The unique (ticket, changelog) constraint is the last word for a redelivery another drain wrote.
        session.execute(upsert_into(session, HISTORY).on_conflict_do_nothing(), values)
