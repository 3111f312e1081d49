"""The one way a ticket is written: apply a normalised issue or comment to the store.

Webhook events and reconciliation both end here. Every apply is idempotent and order-safe: a
snapshot older than what the store holds (`fields.updated`, comment `updated`) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.inbound.echo import is_own_comment_echo, is_transition_echo, link_pending_comment
from sync.inbound.history import record_history, record_late_history
from sync.jsm.events import CommentEvent, CommentSnapshot, IssueEvent, IssueSnapshot, Organisation, StatusChange
from sync.models import Comment, Organization, Ticket, TicketParticipant, User, utcnow
from sync.naming import slugify
from sync.notify.facts import NOBODY, Actor, record_status_change, record_support_reply

if TYPE_CHECKING:
    from sync.inbound.batch import BatchCache


# How far ahead of our clock a stored `updated` may be and still be trusted by order safety. A stored
# time further ahead (a forged or wildly skewed event) does not make later events "older": otherwise
# one such event would make every real event and every reconcile lose to it and freeze the ticket.
# The incoming time itself is kept as JSM sent it (the stand-in's clock may be moved on purpose).
MAX_FUTURE_SKEW = timedelta(minutes=5)


# JSM account ids are at most 128 characters (the column's width); a longer one is no account.
MAX_ACCOUNT_ID = 128


def _trusted(stored: datetime) -> bool:
    """Whether a stored time may win order safety (it is not implausibly far in the future)."""
    return stored <= utcnow() + MAX_FUTURE_SKEW


class Deferred(Exception):
    """The event cannot be applied yet (e.g. a comment for a ticket not mirrored yet)."""


@dataclass(frozen=True)
class ApplyResult:
    changed: bool
    reason: str = ""


def _locked_ticket(session: Session, jira_id: str) -> Ticket | None:
    # FOR UPDATE serialises concurrent applies to one ticket on PostgreSQL; SQLite has one writer anyway.
    return session.scalars(select(Ticket).where(Ticket.jira_id == jira_id).with_for_update(of=Ticket)).first()


def _organisation_id(session: Session, organisations: tuple[Organisation, ...], reporter_account: str | None,
                     reporter_email: str | None, batch: BatchCache | None = None) -> int | None:
    if organisations:
        # A request shared with several organisations belongs to the first one an admin already linked
        # (jira_org_id), so adding an organisation in JSM never moves a ticket away from its customers.
        ids = [o.jira_id for o in organisations]
        if batch is not None:
            known = {i: batch.org_by_jira[i] for i in ids if i in batch.org_by_jira}
        else:
            known = {jira_org_id: org_id for jira_org_id, org_id in session.execute(
                select(Organization.jira_org_id, Organization.id).where(Organization.jira_org_id.in_(ids)))
                if jira_org_id is not None}
        first = next((o for o in organisations if o.jira_id in known), organisations[0])
        if first.jira_id in known:
            return known[first.jira_id]
        slug = slugify(first.name)
        if session.scalars(select(Organization.id).where(Organization.slug == slug)).first() is not None:
            slug = f"{slug}-{first.jira_id}"
        org = Organization(slug=slug, name=first.name, jira_org_id=first.jira_id)
        session.add(org)
        session.flush()
        if batch is not None:
            batch.org_by_jira[first.jira_id] = org.id
        return org.id
    if batch is not None:
        known_reporter, org_id = batch.reporter_org(reporter_account, reporter_email)
        if known_reporter:
            return org_id
    conditions = []
    if reporter_account:
        conditions.append(User.jira_account_id == reporter_account)
    if reporter_email:
        conditions.append(User.email == reporter_email.lower())
    if not conditions:
        return None
    # Only the id, without autoflush: this runs on every apply of a ticket that has no organisation yet
    # (a reporter who is not a portal user), and loading User with its joined organisation after a
    # flush was a third of the apply time (bench/apply.py).
    with session.no_autoflush:
        return session.scalars(select(User.organization_id).where(
            or_(*conditions), User.organization_id.is_not(None)).limit(1)).first()


def _assign(ticket: Ticket, values: dict[str, object], *, every: bool) -> None:
    """Set the ticket's columns; on a stored ticket only those that differ.

    Most fields of a webhook repeat what the store holds, and an ORM attribute set (history, change
    events, then the flush comparing old and new) costs about ten times a read: setting every field
    was the largest single item of the apply (bench/apply.py under cProfile).
    """
    for name, value in values.items():
        if every or getattr(ticket, name) != value:
            setattr(ticket, name, value)


def _set_participants(ticket: Ticket, accounts: tuple[str, ...]) -> None:
    """Make the ticket's participant rows JSM's list: rows of accounts still listed are kept as they are."""
    wanted = dict.fromkeys(a for a in accounts if a and len(a) <= MAX_ACCOUNT_ID)
    held = {p.account_id: p for p in ticket.participants}
    if held.keys() != wanted.keys():
        ticket.participants = [held.get(a) or TicketParticipant(account_id=a) for a in wanted]


def _project(ticket: Ticket, issue: IssueSnapshot, mapping: Mapping) -> None:
    status = mapping.resolve_status(issue.status_id, issue.status_name, issue.status_category,
                                    project_key=issue.project_key, request_type_id=issue.request_type_id)
    priority = mapping.resolve_priority(issue.priority_id, issue.priority_name)
    _assign(ticket, {"customer_status": status.key, "bucket": status.bucket, "status_fell_back": status.fell_back,
                     "customer_priority": priority.key}, every=cast("int | None", ticket.id) is None)


def apply_issue(session: Session, issue: IssueSnapshot, mapping: Mapping, *, changelog_id: str | None = None,
                deleted: bool = False, status_changes: tuple[StatusChange, ...] = (),
                batch: BatchCache | None = None, actor: Actor = NOBODY) -> ApplyResult:
    """Upsert a ticket from an issue snapshot (webhook or search result); `batch`: an inbox batch's cache.

    A change of customer status is recorded for notification in the same transaction; `actor` (who
    made it) is never told about their own change.
    """
    # A batch locked its tickets already; several events of one ticket then change the same object
    # in order (order safety below compares with what the earlier ones wrote) and it is written once.
    ticket = batch.tickets.get(issue.jira_id) if batch is not None else _locked_ticket(session, issue.jira_id)
    updated = issue.updated or issue.created or utcnow()
    if ticket is None:
        ticket = Ticket(jira_id=issue.jira_id, key=issue.key, created_at=issue.created or updated,
                        jira_updated_at=updated)
        session.add(ticket)
        if batch is not None:
            batch.tickets[issue.jira_id] = ticket
        is_new = True
    else:
        is_new = False
        if deleted:
            changed = not ticket.deleted
            ticket.deleted = True
            return ApplyResult(changed, "deleted")
        if ticket.deleted:
            return ApplyResult(False, "ticket was deleted in JSM")
        if ticket.jira_updated_at > updated and _trusted(ticket.jira_updated_at):
            # The ticket stays as it is, but a late status change still belongs in its history.
            if batch is not None:
                batch.settle(session)  # the history query below must see what the batch holds back
            record_late_history(session, ticket, issue, status_changes, updated, changelog_id, mapping)
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
    _project(ticket, issue, mapping)
    # Tenancy follows JSM: an Organizations field present but empty (un-shared) falls back to the
    # reporter's organisation, or to none, so the old organisation stops seeing the request at once.
    if ticket.organization_id is None or issue.organisations or issue.organisations_known:
        org_id = _organisation_id(session, issue.organisations, ticket.reporter_account_id, ticket.reporter_email,
                                  batch)
        if org_id is not None or issue.organisations_known:
            ticket.organization_id = org_id
    if issue.participants_known:
        # Participants see the request and are told of it (sync.scope); one removed in JSM loses it at once.
        _set_participants(ticket, issue.participants)
    if batch is None:
        session.flush()  # alone, as before: callers (reconcile, outbound) may read it back at once
    elif is_new:
        # A batch inserts its new tickets together when it ends (one multi-row INSERT); a ticket first
        # seen in this batch has no history yet, so its first entry needs no check and waits with it.
        batch.hold_history(ticket, updated, changelog_id)
        return ApplyResult(True, "created")
    if previous_status != ticket.customer_status:
        if batch is not None:
            batch.settle(session)
        record_history(session, ticket, updated, changelog_id)
        if previous_status is not None:
            record_status_change(session, ticket, previous_status, resolved=ticket.bucket == "resolved", at=updated,
                                 actor=actor)
    return ApplyResult(True, "created" if is_new else "updated")


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


def _from_support(ticket: Ticket, comment: CommentSnapshot, session: Session, batch: BatchCache | None) -> bool:
    author = comment.author
    if author is None or author.account_id is None:
        return True
    if author.account_id == ticket.reporter_account_id:
        return False
    # Any account linked to a portal user is a customer, not support.
    if batch is not None:
        return not batch.is_portal_account(session, author.account_id)
    return session.scalars(select(User.id).where(User.jira_account_id == author.account_id)).first() is None


def _pending_link(session: Session, ticket: Ticket, comment: CommentSnapshot, batch: BatchCache | None) -> bool:
    """Whether this new JSM comment is the echo of a pending portal comment (which it then links)."""
    if batch is None:
        return link_pending_comment(session, ticket, comment) is not None
    if ticket.id not in batch.pending_local:
        return False  # no local comment of this ticket waits for its JSM id: nothing to link
    # Rare: flush first, so a comment linked earlier in this batch is no longer a candidate.
    session.flush()
    row = link_pending_comment(session, ticket, comment)
    if row is not None:
        batch.comments[comment.jira_id] = row
    return row is not None


def apply_comment(session: Session, issue_jira_id: str, comment: CommentSnapshot, *, deleted: bool = False,
                  public: bool | None = None, batch: BatchCache | None = None, restore: bool = False) -> ApplyResult:
    """Upsert (or hide) one comment; `public` overrides the payload's flag when JSM was asked.

    A comment stored as deleted stays deleted (a late or reordered event must not bring it back),
    unless `restore`: JSM listed it after the deletion was stored, so that deletion was wrong
    (`sync.inbound.reconcile_comments`).
    """
    # With a batch, Deferred is raised before anything is written (the batch keeps going without it).
    if batch is not None:
        ticket = batch.tickets.get(issue_jira_id)
    else:
        ticket = session.scalars(select(Ticket).where(Ticket.jira_id == issue_jira_id)).first()
    if ticket is None:
        raise Deferred(f"issue {issue_jira_id} is not mirrored yet")
    is_public = public if public is not None else comment.public
    if batch is not None:
        row = batch.comments.get(comment.jira_id)
    else:
        row = session.scalars(select(Comment).where(Comment.jira_id == comment.jira_id).with_for_update()).first()
    updated = comment.updated or comment.created or utcnow()
    if row is None and not deleted and _pending_link(session, ticket, comment, batch):
        # No echo: our own portal comment arrived before the push recorded JSM's id;
        # the pending local comment is linked instead of duplicated.
        return ApplyResult(False, "echo: linked the pending comment")
    restored = restore and row is not None and row.deleted
    # A restored comment was live when it was wrongly hidden, so customers were told of it then.
    was_shown = row is not None and row.public and row.from_support and (not row.deleted or restored)
    if restored and row is not None:
        row.deleted = False
    if row is None:
        # A ticket created by this batch has no id until it is flushed (`Mapped[int]` cannot say so).
        if cast("int | None", ticket.id) is None:
            if batch is None:
                raise RuntimeError(f"ticket {ticket.key} has no id, yet no batch holds it back")
            batch.settle(session)  # only a batch holds a new ticket back
            session.flush()
        row = Comment(ticket_id=ticket.id, jira_id=comment.jira_id, created_at=comment.created or updated,
                      updated_at=updated, deleted=deleted)
        session.add(row)
        if batch is not None:
            batch.comments[comment.jira_id] = row
    elif not deleted and is_own_comment_echo(session, row, comment):
        # Keeps the customer's words and authorship.
        return ApplyResult(restored, "restored" if restored else "echo of our own comment")
    elif deleted:
        changed = not row.deleted
        row.deleted = True
        return ApplyResult(changed, "deleted")
    elif row.deleted:
        return ApplyResult(False, "comment was deleted")
    elif row.updated_at > updated and _trusted(row.updated_at):
        return ApplyResult(restored, "restored" if restored else "older than the stored comment")
    row.author_name = comment.author.name if comment.author else None
    row.author_account_id = comment.author.account_id if comment.author else None
    row.body = comment.body
    row.updated_at = updated
    # Internal unless JSM says public: a comment whose visibility is unknown is never shown. An event
    # that does not say (DC `issue_commented`) keeps what an earlier event or JSM itself settled.
    if is_public is not None or row.public is None:
        row.public = bool(is_public)
    row.from_support = _from_support(ticket, comment, session, batch)
    if row.public and row.from_support and (ticket.first_response_at is None
                                            or ticket.first_response_at > row.created_at):
        ticket.first_response_at = row.created_at
    if row.public and row.from_support and not row.deleted and not was_shown:
        record_support_reply(session, ticket, comment.jira_id, at=row.created_at,
                             author_account_id=row.author_account_id)
    return ApplyResult(True, "comment")


def apply_comment_event(session: Session, event: CommentEvent, *, batch: BatchCache | None = None) -> ApplyResult:
    """Apply a comment_* event."""
    return apply_comment(session, event.issue_jira_id, event.comment, deleted=event.kind == "deleted", batch=batch)
