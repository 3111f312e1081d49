"""Tenant isolation in one place: which tickets a user may see, as one SQL condition.

The portal's queries (`app.services.scope`) and the notification recipients (`sync.notify.recipients`)
both build on `visible_condition`, so a mail can never reach someone the portal would answer 404.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true

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


def widest_scope(user: User) -> str:
    """The scope that holds every ticket the user may open."""
    return "org" if "org" in scopes_for(user) else "mine"


def reported_by(user: User) -> ColumnElement[bool]:
    """Tickets the user raised (by e-mail, or by their linked JSM account)."""
    conditions = [Ticket.reporter_email == user.email]
    if user.jira_account_id:
        conditions.append(Ticket.reporter_account_id == user.jira_account_id)
    return or_(*conditions)


def visible_condition(user: User, scope: str = "mine") -> ColumnElement[bool]:
    """The condition on `Ticket` of what `user` may see in `scope`; never crosses organisations for non-admins."""
    if scope not in scopes_for(user):
        raise ScopeError(f"scope {scope!r} is not available to role {user.role!r}; use one of {scopes_for(user)}")
    alive = Ticket.deleted.is_(False)
    if not user.active:
        return false()
    if user.role == Role.ADMIN:
        return and_(alive, reported_by(user)) if scope == "mine" else and_(alive, true())
    if user.organization_id is None:
        return false()
    in_org = and_(alive, Ticket.organization_id == user.organization_id)
    if scope == "mine":
        return and_(in_org, reported_by(user))
    if scope == "group":
        members = select(User.email).where(User.organization_id == user.organization_id,
                                           User.group_name == user.group_name, User.group_name.is_not(None))
        return and_(in_org, Ticket.reporter_email.in_(members), Ticket.bucket == "open")
    return in_org
