"""Applying a comment snapshot: upsert or hide one comment of a mirrored ticket, internal unless JSM says public.

As for tickets (`sync.inbound.issues`), a comment is an ORM `Comment` when applied alone and the
batch's `CommentRow` in an inbox batch or a reconcile page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.inbound.echo import is_own_comment_echo, link_pending_comment
from sync.inbound.order import ApplyResult, Deferred, trusted
from sync.inbound.rows import CommentRow, TicketRow
from sync.jsm.events import CommentEvent
from sync.jsm.snapshots import CommentSnapshot
from sync.models import Comment, Ticket, User, utcnow
from sync.notify.facts import record_support_reply

if TYPE_CHECKING:
    from sync.inbound.batch import BatchCache


def _from_support(ticket: Ticket | TicketRow, comment: CommentSnapshot, session: Session,
                  batch: BatchCache | None) -> bool:
    author = comment.author
    if author is None or author.account_id is None:
        return True
    if author.account_id == ticket.reporter_account_id:
        return False
    # Any account linked to a portal user is a customer, not support.
    if batch is not None:
        return not batch.is_portal_account(session, author.account_id)
    return session.scalars(select(User.id).where(User.jira_account_id == author.account_id)).first() is None


def _pending_link(session: Session, ticket: Ticket | TicketRow, comment: CommentSnapshot,
                  batch: BatchCache | None) -> bool:
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


def _new_comment(session: Session, ticket: Ticket | TicketRow, comment: CommentSnapshot, *, deleted: bool,
                 batch: BatchCache | None) -> Comment | CommentRow:
    updated = comment.updated or comment.created or utcnow()
    created = comment.created or updated
    if isinstance(ticket, TicketRow) and batch is not None:
        # A ticket new in this batch has no id yet: the row takes it from the ticket when written.
        row = batch.comments[comment.jira_id] = CommentRow(
            ticket_id=ticket.id, ticket=ticket, jira_id=comment.jira_id, created_at=created, updated_at=updated,
            deleted=deleted)
        return row
    orm = Comment(ticket_id=ticket.id, jira_id=comment.jira_id, created_at=created, updated_at=updated,
                  deleted=deleted)
    session.add(orm)
    return orm


def apply_comment(session: Session, issue_jira_id: str, comment: CommentSnapshot, *, deleted: bool = False,
                  public: bool | None = None, batch: BatchCache | None = None, restore: bool = False) -> ApplyResult:
    """Upsert (or hide) one comment; `public` overrides the payload's flag when JSM was asked.

    A comment stored as deleted stays deleted (a late or reordered event must not bring it back),
    unless `restore`: JSM listed it after the deletion was stored, so that deletion was wrong
    (`sync.inbound.reconcile_comments`).
    """
    # With a batch, Deferred is raised before anything is written (the batch keeps going without it).
    ticket: Ticket | TicketRow | None
    row: Comment | CommentRow | None
    if batch is not None:
        ticket = batch.tickets.get(issue_jira_id)
        row = batch.comments.get(comment.jira_id)
    else:
        ticket = session.scalars(select(Ticket).where(Ticket.jira_id == issue_jira_id)).first()
        row = session.scalars(select(Comment).where(Comment.jira_id == comment.jira_id).with_for_update()).first()
    if ticket is None:
        raise Deferred(f"issue {issue_jira_id} is not mirrored yet")
    is_public = public if public is not None else comment.public
    updated = comment.updated or comment.created or utcnow()
    if row is None and not deleted and _pending_link(session, ticket, comment, batch):
        # No echo: our own portal comment arrived before the push recorded JSM's id;
        # the pending local comment is linked instead of duplicated.
        return ApplyResult(False, "echo: linked the pending comment")
    restored = restore and row is not None and row.deleted
    # A restored comment was live when it was wrongly hidden, so customers were told of it then.
    was_shown = row is not None and bool(row.public) and row.from_support and (not row.deleted or restored)
    if restored and row is not None:
        row.deleted = False
        if isinstance(row, CommentRow):
            row.restored = True
    if row is None:
        row = _new_comment(session, ticket, comment, deleted=deleted, batch=batch)
    elif not deleted and is_own_comment_echo(session, row, comment):
        # Keeps the customer's words and authorship.
        return ApplyResult(restored, "restored" if restored else "echo of our own comment")
    elif deleted:
        changed = not row.deleted
        row.deleted = True
        return ApplyResult(changed, "deleted")
    elif row.deleted:
        return ApplyResult(False, "comment was deleted")
    elif row.updated_at > updated and trusted(row.updated_at):
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
        if ticket.id is None and batch is not None:
            batch.settle(session)  # the fact names the ticket: a ticket new in this batch needs its id
        record_support_reply(session, ticket, comment.jira_id, at=row.created_at,
                             author_account_id=row.author_account_id)
    return ApplyResult(True, "comment")


def apply_comment_event(session: Session, event: CommentEvent, *, batch: BatchCache | None = None) -> ApplyResult:
    """Apply a comment_* event."""
    return apply_comment(session, event.issue_jira_id, event.comment, deleted=event.kind == "deleted", batch=batch)
