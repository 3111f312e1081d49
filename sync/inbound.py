"""The one way a ticket is written: apply a normalised issue or comment to the store.

Webhook events and reconciliation both end here. Every apply is idempotent and order-safe: a
snapshot older than what the store holds (`fields.updated`, comment `updated`) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from mappings import Mapping
from sync.events import CommentEvent, CommentSnapshot, IssueEvent, IssueSnapshot, Organisation, StatusChange
from sync.models import Comment, Organization, StatusHistory, Ticket, User, utcnow
from sync.naming import slugify
from sync.outbound_echo import is_own_comment_echo, is_transition_echo, link_pending_comment


class Deferred(Exception):
    """The event cannot be applied yet (e.g. a comment for a ticket not mirrored yet)."""


@dataclass(frozen=True)
class ApplyResult:
    changed: bool
    reason: str = ""


def _locked_ticket(session: Session, jira_id: str) -> Ticket | None:
    # FOR UPDATE serialises concurrent applies to one ticket on PostgreSQL; SQLite has one writer anyway.
    return session.scalars(select(Ticket).where(Ticket.jira_id == jira_id).with_for_update(of=Ticket)).first()


def organisation_for(session: Session, organisations: tuple[Organisation, ...], reporter_account: str | None,
                     reporter_email: str | None) -> Organization | None:
    """The local organisation of a request: JSM's organisation of the request, else the reporter's."""
    if organisations:
        # A request shared with several organisations belongs to the first one an admin already linked
        # (jira_org_id), so adding an organisation in JSM never moves a ticket away from its customers.
        ids = [o.jira_id for o in organisations]
        known = {o.jira_org_id: o for o in session.scalars(
            select(Organization).where(Organization.jira_org_id.in_(ids)))}
        first = next((o for o in organisations if o.jira_id in known), organisations[0])
        org = known.get(first.jira_id)
        if org is None:
            slug = slugify(first.name)
            if session.scalars(select(Organization.id).where(Organization.slug == slug)).first() is not None:
                slug = f"{slug}-{first.jira_id}"
            org = Organization(slug=slug, name=first.name, jira_org_id=first.jira_id)
            session.add(org)
            session.flush()
        return org
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
        org_id = session.scalars(select(User.organization_id).where(
            or_(*conditions), User.organization_id.is_not(None)).limit(1)).first()
    return session.get(Organization, org_id) if org_id is not None else None


def _project(ticket: Ticket, issue: IssueSnapshot, mapping: Mapping) -> None:
    status = mapping.resolve_status(issue.status_id, issue.status_name, issue.status_category,
                                    project_key=issue.project_key, request_type_id=issue.request_type_id)
    priority = mapping.resolve_priority(issue.priority_id, issue.priority_name)
    ticket.customer_status = status.key
    ticket.bucket = status.bucket
    ticket.status_fell_back = status.fell_back
    ticket.customer_priority = priority.key


def apply_issue(session: Session, issue: IssueSnapshot, mapping: Mapping, *, changelog_id: str | None = None,
                deleted: bool = False, status_changes: tuple[StatusChange, ...] = ()) -> ApplyResult:
    """Upsert a ticket from an issue snapshot (webhook or search result)."""
    ticket = _locked_ticket(session, issue.jira_id)
    updated = issue.updated or issue.created or utcnow()
    if ticket is None:
        ticket = Ticket(jira_id=issue.jira_id, key=issue.key, created_at=issue.created or updated,
                        jira_updated_at=updated, participant_account_ids=[])
        session.add(ticket)
        is_new = True
    else:
        is_new = False
        if deleted:
            changed = not ticket.deleted
            ticket.deleted = True
            return ApplyResult(changed, "deleted")
        if ticket.deleted:
            return ApplyResult(False, "ticket was deleted in JSM")
        if ticket.jira_updated_at > updated:
            # The ticket stays as it is, but a late status change still belongs in its history.
            _record_late_history(session, ticket, issue, status_changes, updated, changelog_id, mapping)
            return ApplyResult(False, "older than the stored ticket")
    previous_status = None if is_new else ticket.customer_status
    ticket.key = issue.key
    ticket.project_key = issue.project_key
    ticket.summary = issue.summary
    ticket.description = issue.description
    ticket.issue_type_name = issue.issue_type
    if issue.request_type_id:
        ticket.request_type_id = issue.request_type_id
        ticket.request_type_name = issue.request_type_name
    ticket.jira_status_id = issue.status_id
    ticket.jira_status_name = issue.status_name
    ticket.jira_status_category = issue.status_category
    ticket.jira_priority_id = issue.priority_id
    ticket.jira_priority_name = issue.priority_name
    ticket.reporter_account_id = issue.reporter.account_id if issue.reporter else None
    ticket.reporter_name = issue.reporter.name if issue.reporter else None
    ticket.reporter_email = issue.reporter.email if issue.reporter else None
    ticket.assignee_name = issue.assignee.name if issue.assignee else None
    ticket.resolved_at = issue.resolved
    ticket.jira_updated_at = updated
    ticket.deleted = deleted
    ticket.last_synced_at = utcnow()
    _project(ticket, issue, mapping)
    if ticket.organization_id is None or issue.organisations:
        org = organisation_for(session, issue.organisations, ticket.reporter_account_id, ticket.reporter_email)
        if org is not None:
            ticket.organization_id = org.id
    session.flush()
    if previous_status != ticket.customer_status:
        _record_history(session, ticket, updated, changelog_id)
    return ApplyResult(True, "created" if is_new else "updated")


def _record_history(session: Session, ticket: Ticket, at: datetime, changelog_id: str | None,
                    status: str | None = None, jira_status_name: str | None = None) -> None:
    # Idempotent two ways: by changelog id (a redelivered event), and by (status, at), because the
    # same change can arrive once from reconcile (no changelog id) and once from its webhook.
    status = status or ticket.customer_status
    same = and_(StatusHistory.customer_status == status, StatusHistory.at == at)
    if changelog_id is not None:
        same = or_(same, StatusHistory.changelog_id == changelog_id)
    if session.scalars(select(StatusHistory.id).where(StatusHistory.ticket_id == ticket.id, same)).first():
        return
    session.add(StatusHistory(ticket_id=ticket.id, customer_status=status,
                              jira_status_name=jira_status_name or ticket.jira_status_name, at=at,
                              changelog_id=changelog_id))


def _record_late_history(session: Session, ticket: Ticket, issue: IssueSnapshot,
                         changes: tuple[StatusChange, ...], at: datetime, changelog_id: str | None,
                         mapping: Mapping) -> None:
    """History of an event older than the ticket: its changelog's customer-visible status change."""
    if not changes or changelog_id is None:
        return
    change = changes[-1]
    # Changelog items carry no status category: record only what the mapping resolves by itself,
    # never a category guess, and only changes a customer can see (from and to map differently).
    resolve = lambda sid, name: mapping.resolve_status(  # noqa: E731
        sid, name, None, project_key=issue.project_key, request_type_id=issue.request_type_id)
    before, after = resolve(change.from_id, change.from_name), resolve(change.to_id, change.to_name)
    if after.fell_back or (not before.fell_back and before.key == after.key):
        return
    rows = session.scalars(select(StatusHistory).where(StatusHistory.ticket_id == ticket.id)
                           .order_by(StatusHistory.at)).all()
    earlier = [r for r in rows if r.at < at]
    later = [r for r in rows if r.at > at]
    if earlier and earlier[-1].customer_status == after.key:
        return  # the customer saw no change at this point
    if later and later[0].customer_status == after.key and later[0].changelog_id is None:
        # The next entry only observed this status later (a reconcile or an event without a changelog,
        # e.g. the ticket's first sighting): the changelog tells when the change really happened.
        later[0].at, later[0].changelog_id = at, changelog_id
        return
    _record_history(session, ticket, at, changelog_id, after.key, change.to_name)


def apply_issue_event(session: Session, event: IssueEvent, mapping: Mapping) -> ApplyResult:
    """Apply a jira:issue_* event, and the comment a Data Center `issue_commented` carries."""
    if is_transition_echo(session, event):
        # No echo (issue #6): a webhook caused by our own customer transition (one per hop of a
        # multi-hop move) changes nothing; the outbound push applies JSM's final state itself.
        result = ApplyResult(False, "echo of our own transition")
    else:
        result = apply_issue(session, event.issue, mapping, changelog_id=event.changelog_id,
                             deleted=event.kind == "deleted", status_changes=event.status_changes)
    if event.comment is not None:
        apply_comment(session, event.issue.jira_id, event.comment)
    return result


def _from_support(ticket: Ticket, comment: CommentSnapshot, session: Session) -> bool:
    author = comment.author
    if author is None or author.account_id is None:
        return True
    if author.account_id == ticket.reporter_account_id:
        return False
    # Any account linked to a portal user is a customer, not support.
    return session.scalars(select(User.id).where(User.jira_account_id == author.account_id)).first() is None


def apply_comment(session: Session, issue_jira_id: str, comment: CommentSnapshot, *, deleted: bool = False,
                  public: bool | None = None) -> ApplyResult:
    """Upsert (or hide) one comment; `public` overrides the payload's flag when JSM was asked."""
    ticket = session.scalars(select(Ticket).where(Ticket.jira_id == issue_jira_id)).first()
    if ticket is None:
        raise Deferred(f"issue {issue_jira_id} is not mirrored yet")
    is_public = public if public is not None else comment.public
    row = session.scalars(select(Comment).where(Comment.jira_id == comment.jira_id).with_for_update()).first()
    updated = comment.updated or comment.created or utcnow()
    if row is None and not deleted and link_pending_comment(session, ticket, comment) is not None:
        # No echo (issue #6): our own portal comment arrived before the push recorded JSM's id;
        # the pending local comment is linked instead of duplicated.
        return ApplyResult(False, "echo: linked the pending comment")
    if row is None:
        row = Comment(ticket_id=ticket.id, jira_id=comment.jira_id, created_at=comment.created or updated,
                      updated_at=updated, deleted=deleted)
        session.add(row)
    elif not deleted and is_own_comment_echo(session, row, comment):
        return ApplyResult(False, "echo of our own comment")  # keeps the customer's words and authorship
    elif deleted:
        changed = not row.deleted
        row.deleted = True
        return ApplyResult(changed, "deleted")
    elif row.deleted:
        return ApplyResult(False, "comment was deleted")
    elif row.updated_at > updated:
        return ApplyResult(False, "older than the stored comment")
    row.author_name = comment.author.name if comment.author else None
    row.author_account_id = comment.author.account_id if comment.author else None
    row.body = comment.body
    row.updated_at = updated
    # Internal unless JSM says public: a comment whose visibility is unknown is never shown. An event
    # that does not say (DC `issue_commented`) keeps what an earlier event or JSM itself settled.
    if is_public is not None or row.public is None:
        row.public = bool(is_public)
    row.from_support = _from_support(ticket, comment, session)
    if row.public and row.from_support and (ticket.first_response_at is None
                                            or ticket.first_response_at > row.created_at):
        ticket.first_response_at = row.created_at
    return ApplyResult(True, "comment")


def apply_comment_event(session: Session, event: CommentEvent) -> ApplyResult:
    """Apply a comment_* event."""
    return apply_comment(session, event.issue_jira_id, event.comment, deleted=event.kind == "deleted")
