"""Plain rows an inbox batch (or a reconcile page) reads, changes in memory, and writes back as sets.

A batch used to change ORM objects and let the unit of work flush them one statement per row; most
of the apply then went to that bookkeeping (bench/apply.py under cProfile). These rows carry the same
attribute names as the models, so the apply logic (`sync.inbound.issues`, `sync.inbound.comments`)
works on either, and `sync.inbound.write` writes the changed ones in a few multi-row statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from sync.models import Comment, Ticket, utcnow


@dataclass(eq=False)
class TicketRow:
    """One `tickets` row; `id` is None until a new ticket is written."""

    jira_id: str
    key: str
    created_at: datetime
    jira_updated_at: datetime
    id: int | None = None
    project_key: str = ""
    summary: str = ""
    description: str | None = None
    service_desk_id: str | None = None
    request_type_id: str | None = None
    request_type_name: str | None = None
    issue_type_name: str | None = None
    organization_id: int | None = None
    reporter_account_id: str | None = None
    reporter_name: str | None = None
    reporter_email: str | None = None
    assignee_name: str | None = None
    jira_status_id: str | None = None
    jira_status_name: str | None = None
    jira_status_category: str | None = None
    jira_priority_id: str | None = None
    jira_priority_name: str | None = None
    customer_status: str = ""
    customer_priority: str = ""
    bucket: str = ""
    status_fell_back: bool = False
    resolved_at: datetime | None = None
    first_response_at: datetime | None = None
    deleted: bool = False
    last_synced_at: datetime = field(default_factory=utcnow)
    # JSM's "Request participants" (account ids) when an event listed them, and what the store held
    # (read only when an event of the batch lists them; a new ticket holds none).
    participants: tuple[str, ...] | None = None
    stored_participants: tuple[str, ...] = ()
    # The column values as last read or written: the row is written again only when they differ.
    stored: tuple[Any, ...] | None = None

    def values(self) -> tuple[Any, ...]:
        """The row's column values (without `id`), in TICKET_COLUMNS' order."""
        return _ticket_values(self)

    def changed(self) -> bool:
        return self.stored != _ticket_values(self)

    def mark_stored(self) -> None:
        self.stored = _ticket_values(self)

    def participants_changed(self) -> bool:
        return self.participants is not None and self.participants != self.stored_participants


@dataclass(eq=False)
class CommentRow:
    """One `comments` row of a JSM comment; `ticket` (of a new comment) gives `ticket_id` once it has one."""

    ticket_id: int | None
    jira_id: str
    created_at: datetime
    updated_at: datetime
    id: int | None = None
    author_name: str | None = None
    author_account_id: str | None = None
    from_support: bool = True
    # None until the apply settles it: internal unless JSM says public (written as False if never settled).
    public: bool | None = None
    body: str = ""
    deleted: bool = False
    outbox_action_id: int | None = None
    ticket: TicketRow | None = None
    # Shown again by reconciliation (JSM lists it): only such a row may overwrite a stored deletion.
    restored: bool = False
    stored: tuple[Any, ...] | None = None

    def values(self) -> tuple[Any, ...]:
        """The row's column values (without `id`), in COMMENT_COLUMNS' order (`public` settled)."""
        if self.ticket_id is None and self.ticket is not None:
            self.ticket_id = self.ticket.id
        values = list(_comment_values(self))
        values[_PUBLIC] = bool(self.public)  # never settled: internal
        return tuple(values)

    def changed(self) -> bool:
        return self.stored != self.values()

    def mark_stored(self) -> None:
        self.stored = self.values()


@dataclass(frozen=True)
class HistoryRow:
    """A `status_history` entry to add; `ticket` resolves its id once a new ticket has one."""

    ticket: TicketRow
    customer_status: str
    jira_status_name: str | None
    at: datetime
    changelog_id: str | None
    # The first entry of a ticket this batch creates: the store holds no history of it to compare with.
    first: bool = False

    def same_change(self, customer_status: str, at: datetime, changelog_id: str | None) -> bool:
        """The history's idempotency rule: the same changelog, or the same status at the same time."""
        return (self.customer_status == customer_status and self.at == at) or (
            changelog_id is not None and self.changelog_id == changelog_id)


# The written columns, in the model's order; `tests/inbound/test_batch_rows.py` checks they are all of them.
TICKET_COLUMNS = tuple(f.name for f in fields(TicketRow)
                       if f.name not in ("id", "participants", "stored_participants", "stored"))
COMMENT_COLUMNS = tuple(f.name for f in fields(CommentRow) if f.name not in ("id", "ticket", "restored", "stored"))
# Reading them as a tuple in one call: a row's values are compared (changed?) and written for every
# ticket of a batch, and a dict built attribute by attribute was a tenth of the batch's CPU.
_ticket_values = attrgetter(*TICKET_COLUMNS)
_comment_values = attrgetter(*COMMENT_COLUMNS)
_PUBLIC = COMMENT_COLUMNS.index("public")
_TICKET_READ_NAMES = ("id", *TICKET_COLUMNS)
_COMMENT_READ_NAMES = ("id", *COMMENT_COLUMNS)
# The columns a batch reads, in that order: a row is then built from its values by position (a Core
# row's attributes are looked up by name through a failed attribute access each, costly per column).
TICKET_READ = tuple(Ticket.__table__.c[name] for name in _TICKET_READ_NAMES)
COMMENT_READ = tuple(Comment.__table__.c[name] for name in _COMMENT_READ_NAMES)


def ticket_row(values: Sequence[Any]) -> TicketRow:
    """A row from the values of TICKET_READ's columns (`id`, then TICKET_COLUMNS), as read."""
    row = object.__new__(TicketRow)
    # Set as read, not through the dataclass's __init__: a batch reads up to BATCH_SIZE tickets.
    row.__dict__.update(zip(_TICKET_READ_NAMES, values, strict=False))  # the values may go on (flags)
    row.participants, row.stored_participants = None, ()
    row.stored = tuple(values[1:len(_TICKET_READ_NAMES)])
    return row


def comment_row(values: Sequence[Any]) -> CommentRow:
    """A row from the values of COMMENT_READ's columns (`id`, then COMMENT_COLUMNS), as read."""
    row = CommentRow(**dict(zip(_COMMENT_READ_NAMES, values, strict=True)))
    row.mark_stored()
    return row
