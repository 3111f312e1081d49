"""Applying an issue snapshot (webhook or search result) to its ticket: the one way a ticket is written.

Alone (`batch` None: outbound push, tests) the ticket is an ORM `Ticket`, locked and flushed at once;
in an inbox batch or a reconcile page it is the batch's `TicketRow`, written with the others when the
batch settles (`sync.inbound.write`). The rules are the same code for both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.inbound.comments import apply_comment
from sync.inbound.echo import is_transition_echo
from sync.inbound.history import record_history, record_late_history
from sync.inbound.order import ApplyResult, trusted
from sync.inbound.rows import HistoryRow, TicketRow
from sync.inbound.tenancy import organisation_id
from sync.jsm.events import IssueEvent
from sync.jsm.snapshots import IssueSnapshot, StatusChange
from sync.models import Ticket, TicketParticipant, utcnow
from sync.notify.facts import NOBODY, Actor, record_status_change

if TYPE_CHECKING:
    from sync.inbound.batch import BatchCache

# JSM account ids are at most 128 characters (the column's width); a longer one is no account.
MAX_ACCOUNT_ID = 128


def _locked_ticket(session: Session, jira_id: str) -> Ticket | None:
    # FOR UPDATE serialises concurrent applies to one ticket on PostgreSQL; SQLite has one writer anyway.
    return session.scalars(select(Ticket).where(Ticket.jira_id == jira_id).with_for_update(of=Ticket)).first()


def _assign(ticket: Ticket | TicketRow, values: dict[str, object], *, every: bool) -> None:
    """Set the ticket's columns; on a stored ticket only those that differ.

    Most fields of a webhook repeat what the store holds, and an ORM attribute set (history, change
    events, then the flush comparing old and new) costs about ten times a read: setting every field
    was the largest single item of the apply (bench/apply.py under cProfile).
    """
    for name, value in values.items():
        if every or getattr(ticket, name) != value:
            setattr(ticket, name, value)


def _set_participants(ticket: Ticket | TicketRow, accounts: tuple[str, ...]) -> None:
    """Make the ticket's participant rows JSM's list: rows of accounts still listed are kept as they are."""
    wanted = dict.fromkeys(a for a in accounts if a and len(a) <= MAX_ACCOUNT_ID)
    if isinstance(ticket, TicketRow):
        ticket.participants = tuple(wanted)
        return
    held = {p.account_id: p for p in ticket.participants}
    if held.keys() != wanted.keys():
        ticket.participants = [held.get(a) or TicketParticipant(account_id=a) for a in wanted]


def _project(ticket: Ticket | TicketRow, issue: IssueSnapshot, mapping: Mapping, *, every: bool) -> None:
    status = mapping.resolve_status(issue.status_id, issue.status_name, issue.status_category,
                                    project_key=issue.project_key, request_type_id=issue.request_type_id)
    priority = mapping.resolve_priority(issue.priority_id, issue.priority_name)
    _assign(ticket, {"customer_status": status.key, "bucket": status.bucket, "status_fell_back": status.fell_back,
                     "customer_priority": priority.key}, every=every)


def _new_ticket(session: Session, issue: IssueSnapshot, batch: BatchCache | None) -> Ticket | TicketRow:
    updated = issue.updated or issue.created or utcnow()
    fields = {"jira_id": issue.jira_id, "key": issue.key, "created_at": issue.created or updated,
              "jira_updated_at": updated}
    if batch is not None:
        row = batch.tickets[issue.jira_id] = TicketRow(**fields)  # type: ignore[arg-type]
        return row
    ticket = Ticket(**fields)
    session.add(ticket)
    return ticket


def apply_issue(session: Session, issue: IssueSnapshot, mapping: Mapping, *, changelog_id: str | None = None,
                deleted: bool = False, status_changes: tuple[StatusChange, ...] = (),
                batch: BatchCache | None = None, actor: Actor = NOBODY) -> ApplyResult:
    """Upsert a ticket from an issue snapshot (webhook or search result); `batch`: an inbox batch's cache.

    A change of customer status is recorded for notification in the same transaction; `actor` (who
    made it) is never told about their own change.
    """
    # A batch locked its tickets already; several events of one ticket then change the same row in
    # order (order safety below compares with what the earlier ones wrote) and it is written once.
    stored = batch.tickets.get(issue.jira_id) if batch is not None else _locked_ticket(session, issue.jira_id)
    updated = issue.updated or issue.created or utcnow()
    is_new = stored is None
    ticket = _new_ticket(session, issue, batch) if stored is None else stored
    if not is_new:
        if deleted:
            changed = not ticket.deleted
            ticket.deleted = True
            return ApplyResult(changed, "deleted")
        if ticket.deleted:
            return ApplyResult(False, "ticket was deleted in JSM")
        if ticket.jira_updated_at > updated and trusted(ticket.jira_updated_at):
            # The ticket stays as it is, but a late status change still belongs in its history.
            if batch is not None:
                batch.settle(session)  # the history query below must see what the batch holds back
            record_late_history(session, ticket, issue, status_changes, updated, changelog_id, mapping, batch)
            return ApplyResult(False, "older than the stored ticket")
    previous_status = None if is_new else ticket.customer_status
    values: dict[str, object] = {
        "key": issue.key, "project_key": issue.project_key, "summary": issue.summary,
        "description": issue.description, "issue_type_name": issue.issue_type,
        "jira_status_id": issue.status_id, "jira_status_name": issue.status_name,
        "jira_status_category": issue.status_category, "jira_priority_id": issue.priority_id,
        "jira_priority_name": issue.priority_name,
        "reporter_account_id": issue.reporter.account_id if issue.reporter else None,
        "reporter_name": issue.reporter.name if issue.reporter else None,
        "reporter_email": issue.reporter.email if issue.reporter else None,
        "assignee_name": issue.assignee.name if issue.assignee else None,
        "resolved_at": issue.resolved, "jira_updated_at": updated, "deleted": deleted, "last_synced_at": utcnow()}
    if issue.request_type_id:
        values.update(request_type_id=issue.request_type_id, request_type_name=issue.request_type_name)
    _assign(ticket, values, every=is_new)
    _project(ticket, issue, mapping, every=is_new)
    # Tenancy follows JSM: an Organizations field present but empty (un-shared) falls back to the
    # reporter's organisation, or to none, so the old organisation stops seeing the request at once.
    if ticket.organization_id is None or issue.organisations or issue.organisations_known:
        org_id = organisation_id(session, issue.organisations, ticket.reporter_account_id, ticket.reporter_email,
                                 batch)
        if org_id is not None or issue.organisations_known:
            ticket.organization_id = org_id
    if issue.participants_known:
        # Participants see the request and are told of it (sync.scope); one removed in JSM loses it at once.
        _set_participants(ticket, issue.participants)
    if batch is None:
        session.flush()  # alone, as before: callers (reconcile, outbound) may read it back at once
    elif is_new:
        # A ticket first seen in this batch has no history yet: its first entry needs no check.
        batch.add_history(HistoryRow(_row(ticket), ticket.customer_status, ticket.jira_status_name, updated,
                                     changelog_id, first=True))
        return ApplyResult(True, "created")
    if previous_status != ticket.customer_status:
        record_history(session, ticket, updated, changelog_id, batch=batch)
        if previous_status is not None:
            record_status_change(session, ticket, previous_status, resolved=ticket.bucket == "resolved", at=updated,
                                 actor=actor)
    return ApplyResult(True, "created" if is_new else "updated")


def _row(ticket: Ticket | TicketRow) -> TicketRow:
    if not isinstance(ticket, TicketRow):
        raise TypeError("a batch holds its tickets as rows")
    return ticket


def apply_issue_event(session: Session, event: IssueEvent, mapping: Mapping, *,
                      batch: BatchCache | None = None) -> ApplyResult:
    """Apply a jira:issue_* event, and the comment a Data Center `issue_commented` carries."""
    if is_transition_echo(session, event, batch):
        # No echo: a webhook caused by our own customer transition (one per hop of a
        # multi-hop move) changes nothing; the outbound push applies JSM's final state itself.
        result = ApplyResult(False, "echo of our own transition")
    else:
        result = apply_issue(session, event.issue, mapping, changelog_id=event.changelog_id,
                             deleted=event.kind == "deleted", status_changes=event.status_changes, batch=batch,
                             actor=Actor(account_id=event.actor.account_id if event.actor else None))
    if event.comment is not None:
        apply_comment(session, event.issue.jira_id, event.comment, batch=batch)
    return result
