"""Tenant isolation in one place: the only helper that decides which tickets a user may see and act on.

It asks the permission set (`app.services.permissions`), never role names: `view_*` permissions open the
list scopes, `act_*` permissions decide which of the visible tickets the user may change.
"""

from __future__ import annotations

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from app.services.permissions import Permission, is_admin, permissions_of
from sync.models import GroupMember, Ticket, User

SCOPES = ("mine", "org", "group")
_VIEW = {"mine": Permission.VIEW_OWN, "org": Permission.VIEW_ORG, "group": Permission.VIEW_GROUP}
_ACT = {"mine": Permission.ACT_OWN, "org": Permission.ACT_ORG, "group": Permission.ACT_GROUP}


class ScopeError(ValueError):
    """The user asked for a scope their permissions do not open."""


def scopes_for(user: User) -> tuple[str, ...]:
    """The list scopes the user's permissions open, in the order the portal offers them."""
    held = permissions_of(user)
    if Permission.ADMINISTER in held:
        return SCOPES
    return tuple(scope for scope in SCOPES if _VIEW[scope] in held)


def action_scopes_for(user: User) -> tuple[str, ...]:
    """The scopes in which the user may change requests (comment, resolve, ...)."""
    held = permissions_of(user)
    if Permission.ADMINISTER in held:
        return SCOPES
    return tuple(scope for scope in SCOPES if _ACT[scope] in held and _VIEW[scope] in held)


def can_act(user: User) -> bool:
    """Whether the user may change any request at all (org viewers may not)."""
    return bool(action_scopes_for(user))


def can_create(user: User) -> bool:
    """Whether the user may open new requests."""
    return Permission.CREATE in permissions_of(user) or is_admin(user)


def _mine(user: User):  # type: ignore[no-untyped-def]
    conditions = [Ticket.reporter_email == user.email]
    if user.jira_account_id:
        conditions.append(Ticket.reporter_account_id == user.jira_account_id)
    return or_(*conditions)


def _group_condition(user: User):  # type: ignore[no-untyped-def]
    """Reporters who share a group with the user (inside the user's organisation)."""
    group_ids = [group.id for group in user.groups or ()]
    if not group_ids:
        return false()
    members = (select(User.email).join(GroupMember, GroupMember.user_id == User.id)
               .where(GroupMember.group_id.in_(group_ids), User.organization_id == user.organization_id))
    return Ticket.reporter_email.in_(members)


def visible_tickets(user: User, scope: str = "mine") -> Select[tuple[Ticket]]:
    """A query of the tickets `user` may see in `scope`; never crosses organisations for non-admins."""
    if scope not in scopes_for(user):
        raise ScopeError(f"scope {scope!r} is not available to you; use one of {scopes_for(user)}")
    query = select(Ticket).where(Ticket.deleted.is_(False))
    if is_admin(user):
        return query if scope != "mine" else query.where(_mine(user))
    if user.organization_id is None:
        return query.where(false())
    query = query.where(Ticket.organization_id == user.organization_id)
    if scope == "mine":
        return query.where(_mine(user))
    if scope == "group":
        return query.where(_group_condition(user), Ticket.bucket == "open")
    return query


def _widest(scopes: tuple[str, ...]) -> str | None:
    for scope in ("org", "mine"):
        if scope in scopes:
            return scope
    return None


def visible_ticket(db: Session, user: User, key: str, *options: ORMOption) -> Ticket | None:
    """One ticket by key if `user` may see it in any of their scopes, else None (the caller answers 404).

    `options` are loader options (e.g. joinedload) for readers; they never widen what is visible.
    """
    scopes = scopes_for(user)
    widest = _widest(scopes)
    if widest is None:
        return None
    query = visible_tickets(user, widest).where(Ticket.key == key).options(*options)
    ticket = db.scalars(query).first()
    if ticket is None and "group" in scopes:
        # A group lead without the organisation scope still sees its group's open requests.
        ticket = db.scalars(visible_tickets(user, "group").where(Ticket.key == key).options(*options)).first()
    return ticket


def may_act_on(db: Session, user: User, ticket: Ticket) -> bool:
    """Whether `user` may change `ticket` (it is inside one of their action scopes)."""
    for scope in action_scopes_for(user):
        if db.scalars(visible_tickets(user, scope).where(Ticket.id == ticket.id)).first() is not None:
            return True
    return False
