"""Invitation and password-reset links: signed, expiring, and single use (accepting changes the auth epoch)."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from app.services.accounts import auth_epoch
from sync.models import User

INVITE_DAYS = 7
RESET_HOURS = 1
_SALTS = {"invite": INVITE_DAYS * 86400, "reset": RESET_HOURS * 3600}


def make_link_token(secret: str, user: User, purpose: str = "invite") -> str:
    """A token naming the user and their current auth epoch; it dies as soon as a password is set."""
    return URLSafeTimedSerializer(secret, salt=purpose).dumps({"u": user.id, "e": auth_epoch(user)})


def user_for_link(db: Session, secret: str, token: str, purpose: str = "invite") -> User | None:
    """The active user a valid, unexpired, unused token names, else None."""
    try:
        data = URLSafeTimedSerializer(secret, salt=purpose).loads(token, max_age=_SALTS[purpose])
    except (BadSignature, SignatureExpired):
        return None
    user = db.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("e") != auth_epoch(user):
        return None
    return user
