"""What a request's replies may refer to: its people (for mentions) and its attachments (for images)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.models import Attachment, Comment, Ticket, TicketParticipant, User


def mention_names(session: Session, ticket: Ticket) -> dict[str, str]:
    """JSM account id → display name for everyone known on this request (reporter, authors, portal users)."""
    names: dict[str, str] = {}
    if ticket.reporter_account_id and ticket.reporter_name:
        names[ticket.reporter_account_id] = ticket.reporter_name
    for account, name in session.execute(select(Comment.author_account_id, Comment.author_name).where(
            Comment.ticket_id == ticket.id, Comment.author_account_id.is_not(None)).distinct()):
        if account and name:
            names.setdefault(account, name)
    participants = select(TicketParticipant.account_id).where(TicketParticipant.ticket_id == ticket.id)
    for account, name, email in session.execute(select(User.jira_account_id, User.name, User.email)
                                                .where(User.jira_account_id.in_(participants))):
        if account and account not in names:
            names[account] = name or email
    return names


def attachment_images(session: Session, ticket: Ticket, url_of: Callable[[str], str]) -> dict[str, str]:
    """Customer-visible attachment file name → the scoped URL it is served from (`url_of(jira_id)`)."""
    return {filename: url_of(jira_id) for filename, jira_id in session.execute(
        select(Attachment.filename, Attachment.jira_id).where(Attachment.ticket_id == ticket.id,
                                                              Attachment.deleted.is_(False)))}
