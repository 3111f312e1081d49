"""Tenant isolation in one place: the only helper that decides which tickets a user may see."""

from __future__ import annotations

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from sync.models import Role, Ticket, User

SCOPES = ("mine", "org", "group")


class ScopeError(ValueError):
    """The user asked for a scope their role does not have."""


def scopes_for(user: User) -> tuple[str, ...]:
    """The list scopes a user's role offers."""
    if user.role in (Role.ADMIN, Role.GROUP_LEAD):
        return SCOPES
    if user.role == Role.ORG_VIEWER:
        return ("mine", "org")
    return ("mine",)


def _mine(user: User):  # type: ignore[no-untyped-def]
    conditions = [Ticket.reporter_email == user.email]
    if user.jira_account_id:
        conditions.append(Ticket.reporter_account_id == user.jira_account_id)
    return or_(*conditions)


def visible_tickets(user: User, scope: str = "mine") -> Select[tuple[Ticket]]:
    """A query of the tickets `user` may see in `scope`; never crosses organisations for non-admins."""
    if scope not in scopes_for(user):
        raise ScopeError(f"scope {scope!r} is not available to role {user.role!r}; use one of {scopes_for(user)}")
    query = select(Ticket).where(Ticket.deleted.is_(False))
    if user.role == Role.ADMIN:
        return query if scope != "mine" else query.where(_mine(user))
    if user.organization_id is None:
        return query.where(false())
    query = query.where(Ticket.organization_id == user.organization_id)
    if scope == "mine":
        return query.where(_mine(user))
    if scope == "group":
        members = select(User.email).where(User.organization_id == user.organization_id,
                                           User.group_name == user.group_name, User.group_name.is_not(None))
        return query.where(Ticket.reporter_email.in_(members), Ticket.bucket == "open")
    return query


def visible_ticket(db: Session, user: User, key: str, *options: ORMOption) -> Ticket | None:
    """One ticket by key if `user` may see it in any of their scopes, else None (the caller answers 404).

    `options` are loader options (e.g. joinedload) for readers; they never widen what is visible.
    """
    widest = "org" if "org" in scopes_for(user) else "mine"
    return db.scalars(visible_tickets(user, widest).where(Ticket.key == key).options(*options)).first()
