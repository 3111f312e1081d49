"""Tenant isolation for the portal and the API: queries built on the one rule in `sync.scope`."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from sync.models import Ticket, User
from sync.permissions import Permission, has
from sync.scope import (
    SCOPES,
    ScopeError,
    action_scopes_for,
    actionable_condition,
    scopes_for,
    visible_anywhere,
    visible_condition,
)

__all__ = ["SCOPES", "ScopeError", "action_scopes_for", "can_act", "can_create", "may_act_on", "scopes_for",
           "visible_ticket", "visible_tickets"]


def can_act(user: User) -> bool:
    """Whether the user may change any request at all (org viewers may not)."""
    return bool(action_scopes_for(user))


def can_create(user: User) -> bool:
    """Whether the user may open new requests."""
    return has(user, Permission.CREATE) or has(user, Permission.ADMINISTER)


def visible_tickets(user: User, scope: str = "mine") -> Select[tuple[Ticket]]:
    """A query of the tickets `user` may see in `scope`; never crosses organisations for non-admins."""
    return select(Ticket).where(visible_condition(user, scope))


def visible_ticket(db: Session, user: User, key: str, *options: ORMOption) -> Ticket | None:
    """One ticket by key if `user` may see it in any of their scopes, else None (the caller answers 404).

    `options` are loader options (e.g. joinedload) for readers; they never widen what is visible.
    """
    return db.scalars(select(Ticket).where(visible_anywhere(user), Ticket.key == key).options(*options)).first()


def may_act_on(db: Session, user: User, ticket: Ticket) -> bool:
    """Whether `user` may change `ticket` (it is inside one of their action scopes)."""
    return db.scalar(select(Ticket.id).where(actionable_condition(user), Ticket.id == ticket.id)) is not None
