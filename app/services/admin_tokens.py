"""What an admin does to one user's access: API tokens, a reset link, their second factor, view as them.

The same functions serve the pages, the JSON API and the CLI; each change (and each "view as") is audited
in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.admin import managed_user
from app.services.admin_input import N_, AdminError, require_admin
from app.services.audit import record
from app.services.invitations import RESET_HOURS, send_link
from app.services.second_factor import turn_off
from app.services.serializers import iso
from app.services.web_sessions import end_user_sessions
from sync.models import ApiToken, User, utcnow
from sync.permissions import is_admin
from sync.settings import Settings


def token_json(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "created": iso(token.created_at),
            "last_used": iso(token.last_used_at), "expires": iso(token.expires_at),
            "revoked": iso(token.revoked_at)}


def tokens_of(db: Session, actor: User, user_id: int) -> list[ApiToken]:
    """The user's tokens, active first (never the secrets: only names and dates)."""
    user = managed_user(db, actor, user_id)
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                           .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())))


def revoke_token(db: Session, actor: User, user_id: int, token_id: int) -> ApiToken:
    """Revoke one token of a user the actor manages (at once: the next call with it answers 401)."""
    user = managed_user(db, actor, user_id)
    token = db.scalars(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)).first()
    if token is None:
        raise AdminError(404, N_("no token %(id)s"), None, {"id": token_id})
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(db, actor, "token.revoke", f"user {user.email}", user.organization_id,
               {"token": token.name, "token_id": token.id})
    return token


def reset_link_token(db: Session, actor: User, user_id: int, settings: Settings) -> str:
    """Mail a single-use reset link (RESET_HOURS) to a user the actor manages; returns it too; audited."""
    user = managed_user(db, actor, user_id)
    if not user.active:
        raise AdminError(400, N_("'active': reactivate the user before sending a reset link"), "active")
    record(db, actor, "user.reset_link", f"user {user.email}", user.organization_id, {"hours": RESET_HOURS})
    url, _mail = send_link(db, settings, user, "reset")
    return url


def reset_second_factor(db: Session, actor: User | None, user: User, via: str) -> int:
    """Remove a user's second factor and recovery codes (lost phone) and end their sessions; audited.

    `actor` is None for the CLI (the operator at the server). One whose role requires the factor sets it
    up again at the next sign-in. Returns how many signed-in sessions ended.
    """
    turn_off(db, user)
    ended = end_user_sessions(db, user.id)
    record(db, actor, "user.reset_2fa", f"user {user.email}", user.organization_id, {"via": via})
    return ended


def reset_managed_second_factor(db: Session, actor: User, user_id: int, via: str) -> User:
    """`reset_second_factor` for a user the actor manages; an org admin never reaches an admin (404)."""
    user = managed_user(db, actor, user_id)
    if is_admin(user) and not is_admin(actor):
        raise AdminError(404, N_("no user %(id)s"), None, {"id": user_id})
    reset_second_factor(db, actor, user, via)
    return user


def view_as_target(db: Session, actor: User, user_id: int, how: str) -> User:
    """The user an admin may view the portal as (another active user), recorded as `view_as.<how>`."""
    require_admin(actor)
    target = managed_user(db, actor, user_id)
    if not target.active or target.id == actor.id:
        raise AdminError(400, N_("'user': only another active user can be viewed"), "user")
    record(db, actor, f"view_as.{how}", f"user {target.email}", target.organization_id, {})
    return target
