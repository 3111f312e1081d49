"""Writing what an inbox batch (or a reconcile page) changed: one statement per table, not one per row.

Each is one INSERT … ON CONFLICT for all the changed rows, given as one JSON document on PostgreSQL
(elsewhere executed once per row), never the ORM's unit of work, whose bookkeeping was most of the apply.

Each statement keeps the apply's rules in SQL too, so a row another drain wrote in between (a ticket
two drains both saw as new) is still order-safe: an older image never overwrites a newer one (unless
the stored time is implausibly far in the future, `sync.inbound.order`), and a deleted ticket or
comment stays deleted unless reconciliation restores it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from sync.inbound.order import trust_limit
from sync.inbound.rows import COMMENT_COLUMNS, TICKET_COLUMNS, CommentRow, HistoryRow, TicketRow
from sync.inbound.sql import BATCH_ROWS, is_postgresql, json_rows, one_of, rows_of_json, upsert_into
from sync.models import Comment, StatusHistory, Ticket, TicketParticipant

TICKETS: Table = Ticket.__table__  # type: ignore[assignment]
COMMENTS: Table = Comment.__table__  # type: ignore[assignment]
HISTORY: Table = StatusHistory.__table__  # type: ignore[assignment]
PARTICIPANTS: Table = TicketParticipant.__table__  # type: ignore[assignment]


# The upserts, built once per dialect (building one costs as much as writing a few rows); each carries the
# trust limit of the moment (`sync.inbound.order`) as a parameter of this name.
TRUST_LIMIT = "trust_limit"
_UPSERTS: dict[tuple[str, str], Any] = {}


def _not_older(stored: Any, incoming: Any) -> ColumnElement[bool]:
    """Order safety in SQL: the incoming time is not older than the stored one, or the stored one is untrusted."""
    return or_(stored <= incoming, stored > bindparam(TRUST_LIMIT, type_=stored.type))


def _upsert(session: Session, table: Table, columns: tuple[str, ...], updated: Column[Any], *,
            keep: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (jira_id) DO UPDATE of `columns` but `keep`, guarded by order safety and deletion.

    On PostgreSQL the rows come as one JSON document, one statement for the batch (`rows_of_json`);
    elsewhere the statement is executed once per row (SQLite runs those in-process, no round trip each).
    """
    key = (session.get_bind().dialect.name, table.name)
    if key not in _UPSERTS:
        stmt = upsert_into(session, table)
        if is_postgresql(session):
            stmt = stmt.from_select(list(columns), rows_of_json(table, columns))
        excluded = stmt.excluded
        _UPSERTS[key] = stmt.on_conflict_do_update(
            index_elements=[table.c.jira_id],
            set_={name: excluded[name] for name in columns if name not in keep},
            where=and_(_not_older(updated, excluded[updated.name]),
                       or_(table.c.deleted.is_(False), excluded.deleted.is_(True))))
    return _UPSERTS[key]


def _write_rows(session: Session, statement: Any, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]],
                **extra: Any) -> Any:
    """Execute `statement` for `rows` (each its values in `columns`' order) with the `extra` parameters: once,
    the rows as one JSON document (`rows_of_json`), on PostgreSQL; once per row elsewhere. Its result."""
    if is_postgresql(session):
        return session.connection().execute(statement, {BATCH_ROWS: json_rows(columns, rows), **extra})
    return session.connection().execute(statement, [{**dict(zip(columns, row, strict=True)), **extra} for row in rows])


def _ticket_upsert(session: Session) -> Any:
    stmt = _upsert(session, TICKETS, TICKET_COLUMNS, TICKETS.c.jira_updated_at, keep=("jira_id", "created_at"))
    # One statement per batch on PostgreSQL, so it can say the ids of the rows it wrote: a read of them by
    # jira_id afterwards was a full scan of the table whenever the planner's statistics were stale (a table
    # that grew since its last ANALYZE, as a big site's first reconcile makes it), a page's cost growing
    # with the table (bench/reconcile_bench.py at 100,000 tickets).
    return stmt.returning(TICKETS.c.jira_id, TICKETS.c.id) if is_postgresql(session) else stmt


def write_tickets(session: Session, rows: Iterable[TicketRow]) -> None:
    """Upsert the changed tickets (new ones get their ids), then their participants."""
    rows = list(rows)
    changed = [r for r in rows if r.changed()]
    new = {r.jira_id: r for r in changed if r.id is None}
    if changed:
        result = _write_rows(session, _ticket_upsert(session), TICKET_COLUMNS, (r.values() for r in changed),
                             **{TRUST_LIMIT: trust_limit()})
        if is_postgresql(session):
            for jira_id, id_ in result:
                if jira_id in new:
                    new.pop(jira_id).id = id_
    if new:  # SQLite, or a ticket another drain inserted meanwhile with a newer image (the guard kept its row)
        for jira_id, id_ in session.connection().execute(select(TICKETS.c.jira_id, TICKETS.c.id).where(
                one_of(session, Ticket.jira_id, new))):
            new[jira_id].id = id_
    _write_participants(session, [r for r in rows if r.participants_changed()])
    for row in changed:
        row.mark_stored()


def _write_participants(session: Session, rows: list[TicketRow]) -> None:
    """Make the participant rows of these tickets JSM's lists (all of a changed ticket's rows, rewritten)."""
    if not rows:
        return
    connection = session.connection()
    connection.execute(delete(PARTICIPANTS).where(one_of(session, TicketParticipant.ticket_id, [r.id for r in rows])))
    pairs = [{"ticket_id": r.id, "account_id": a} for r in rows for a in r.participants or ()]
    if pairs:
        connection.execute(upsert_into(session, PARTICIPANTS).on_conflict_do_nothing(), pairs)
    for row in rows:
        row.stored_participants = row.participants or ()


def _comment_upsert(session: Session) -> Any:
    return _upsert(session, COMMENTS, COMMENT_COLUMNS, COMMENTS.c.updated_at,
                   keep=("jira_id", "created_at", "ticket_id"))


def write_comments(session: Session, rows: Iterable[CommentRow]) -> None:
    """Upsert the changed comments (after their tickets, which give new ones their `ticket_id`)."""
    changed = [r for r in rows if r.changed()]
    restored = [r.id for r in changed if r.restored and r.id is not None]
    connection = session.connection()
    if restored:
        # Reconciliation found these listed in JSM: undo the wrong deletion first, on its own, so the
        # upsert's "a deletion is final" guard lets their current text through.
        connection.execute(update(COMMENTS).where(one_of(session, Comment.id, restored)).values(deleted=False))
    if changed:  # a new comment's id is never needed within its batch
        _write_rows(session, _comment_upsert(session), COMMENT_COLUMNS, (r.values() for r in changed),
                    **{TRUST_LIMIT: trust_limit()})
    for row in changed:
        row.restored = False
        row.mark_stored()


def write_history(session: Session, rows: list[HistoryRow]) -> None:
    """Add the batch's history entries the store does not hold yet (same changelog, or same status and time)."""
    if not rows:
        return
    stored: dict[int, list[tuple[str, Any, str | None]]] = {}
    held = {r.ticket.id for r in rows if not r.first}
    for ticket_id, status, at, changelog_id in session.connection().execute(
            select(HISTORY.c.ticket_id, HISTORY.c.customer_status, HISTORY.c.at, HISTORY.c.changelog_id)
            .where(one_of(session, StatusHistory.ticket_id, held))) if held else ():
        stored.setdefault(ticket_id, []).append((status, at, changelog_id))
    new = [r for r in rows if r.ticket.id is not None
           and not any(r.same_change(*entry) for entry in stored.get(r.ticket.id, ()))]
    if not new:
        return
    values = [(r.ticket.id, r.customer_status, r.jira_status_name, r.at, r.changelog_id) for r in new]
    # The unique (ticket, changelog) constraint is the last word for a redelivery another drain wrote.
    _write_rows(session, _history_insert(session), _HISTORY_COLUMNS, values)


_HISTORY_COLUMNS = ("ticket_id", "customer_status", "jira_status_name", "at", "changelog_id")


def _history_insert(session: Session) -> Any:
    key = (session.get_bind().dialect.name, HISTORY.name)
    if key not in _UPSERTS:
        stmt = upsert_into(session, HISTORY)
        if is_postgresql(session):
            stmt = stmt.from_select(list(_HISTORY_COLUMNS), rows_of_json(HISTORY, _HISTORY_COLUMNS))
        _UPSERTS[key] = stmt.on_conflict_do_nothing()
    return _UPSERTS[key]
