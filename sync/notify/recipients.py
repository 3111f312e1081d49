"""Who is told about a request: the people it is about, inside the one scope rule, as they chose.

Candidates are the reporter and the request's participants who have portal accounts; each is kept
only if `sync.scope.visible_anywhere` (the rule the portal answers 404 with) lets them open the request,
they are active, they did not cause the change themselves, and their e-mail choice is not off.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sync.models import EmailMode, NotificationPreference, Ticket, TicketParticipant, User
from sync.scope import visible_anywhere


def email_mode(session: Session, user_id: int) -> EmailMode:
    """The user's e-mail choice (instant unless they chose otherwise)."""
    mode = session.scalar(select(NotificationPreference.email).where(NotificationPreference.user_id == user_id))
    return mode or EmailMode.INSTANT


def may_see(session: Session, user: User, ticket: Ticket) -> bool:
    """Whether the portal would show `ticket` to `user` (the same condition, asked of the database)."""
    return session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, visible_anywhere(user))) is not None


def candidates(session: Session, ticket: Ticket) -> list[User]:
    """Active portal users the request is about: its reporter and its participants."""
    conditions = []
    if ticket.reporter_email:
        conditions.append(User.email == ticket.reporter_email.lower())
    if ticket.reporter_account_id:
        conditions.append(User.jira_account_id == ticket.reporter_account_id)
    conditions.append(User.jira_account_id.in_(
        select(TicketParticipant.account_id).where(TicketParticipant.ticket_id == ticket.id)))
    return list(session.scalars(select(User).where(or_(*conditions), User.active.is_(True)).order_by(User.id)))


def instant_recipients(session: Session, ticket: Ticket, *, actor_account_id: str | None,
                       actor_user_id: int | None) -> list[tuple[User, str | None]]:
    """Each candidate with None when they are to be told now, or the reason they are not."""
    out: list[tuple[User, str | None]] = []
    for user in candidates(session, ticket):
        if user.id == actor_user_id or (actor_account_id and user.jira_account_id == actor_account_id):
            out.append((user, "their own action"))
        elif not may_see(session, user, ticket):
            out.append((user, "outside their scope"))
        elif (mode := email_mode(session, user.id)) != EmailMode.INSTANT:
            out.append((user, f"e-mail preference {mode}"))
        else:
            out.append((user, None))
    return out
