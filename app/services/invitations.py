"""Invitation and password-reset links: signed, expiring, and single use (accepting changes the auth epoch).

The one mechanism for both: an `itsdangerous` token naming the user and their auth epoch. Setting a
password changes the epoch, so a used link (and every older one) stops working; the signature's age
gives the expiry. Nothing is stored but the mail that carries the link (`sync.notify.account_mail`).
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.accounts import auth_epoch
from sync.models import OutgoingMail, User
from sync.notify import links
from sync.notify.account_mail import Purpose, queue_account_mail
from sync.settings import Settings

INVITE_DAYS = 7
RESET_HOURS = 1
_MAX_AGE = {"invite": INVITE_DAYS * 86400, "reset": RESET_HOURS * 3600}
_PATHS = {"invite": "/invite/", "reset": "/password/reset/"}


def make_link_token(secret: str, user: User, purpose: Purpose = "invite") -> str:
    """A token naming the user and their current auth epoch; it dies as soon as a password is set."""
    return URLSafeTimedSerializer(secret, salt=purpose).dumps({"u": user.id, "e": auth_epoch(user)})


def user_for_link(db: Session, secret: str, token: str, purpose: Purpose = "invite") -> User | None:
    """The active user a valid, unexpired, unused token names, else None."""
    try:
        data = URLSafeTimedSerializer(secret, salt=purpose).loads(token, max_age=_MAX_AGE[purpose])
    except (BadSignature, SignatureExpired):
        return None
    user = db.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.active or data.get("e") != auth_epoch(user):
        return None
    return user


def link_url(settings: Settings, user: User, purpose: Purpose) -> str:
    """The absolute link a mail reader opens (`portal.base_url`)."""
    return links.url(settings, _PATHS[purpose] + make_link_token(settings.effective_secret_key, user, purpose))


def send_link(db: Session, settings: Settings, user: User, purpose: Purpose) -> tuple[str, OutgoingMail]:
    """Queue the mail with a fresh link in the caller's transaction; returns the link and the mail."""
    url = link_url(settings, user, purpose)
    return url, queue_account_mail(db, settings, user, purpose, url)


def request_reset(db: Session, settings: Settings, email: str) -> OutgoingMail | None:
    """A reset mail for the active user with this address; None (and nothing to tell) for any other address."""
    user = db.scalars(select(User).where(User.email == email.strip().lower()[:255], User.active.is_(True))).first()
    if user is None:
        return None
    return send_link(db, settings, user, "reset")[1]
