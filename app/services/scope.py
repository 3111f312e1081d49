"""Tenant isolation for the portal and the API: queries built on the one rule in `sync.scope`."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

from sync.models import Ticket, User
from sync.scope import SCOPES, ScopeError, scopes_for, visible_condition, widest_scope

__all__ = ["SCOPES", "ScopeError", "scopes_for", "visible_ticket", "visible_tickets"]


def visible_tickets(user: User, scope: str = "mine") -> Select[tuple[Ticket]]:
    """A query of the tickets `user` may see in `scope`; never crosses organisations for non-admins."""
    return select(Ticket).where(visible_condition(user, scope))


def visible_ticket(db: Session, user: User, key: str, *options: ORMOption) -> Ticket | None:
    """One ticket by key if `user` may see it in any of their scopes, else None (the caller answers 404).

    `options` are loader options (e.g. joinedload) for readers; they never widen what is visible.
    """
    return db.scalars(visible_tickets(user, widest_scope(user)).where(Ticket.key == key).options(*options)).first()
