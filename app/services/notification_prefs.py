"""A user's e-mail notification settings (Flask-free): read, validate and change them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sync.models import EmailMode, NotificationPreference, User
from sync.notify.recipients import email_mode
from sync.reports.monthly import may_receive

LOCALES = ("en", "ru")


class PreferenceError(ValueError):
    """A setting was given a value it cannot take; the message names the field."""


def preferences(db: Session, user: User, default_locale: str) -> dict[str, Any]:
    """`{"email": "instant|daily|off", "locale": "en|ru", "monthly_report": bool}` for `user`."""
    row = db.get(NotificationPreference, user.id)
    return {"email": email_mode(db, user.id).value, "locale": user.locale or default_locale,
            "monthly_report": bool(row is not None and row.monthly_report)}


def update_preferences(db: Session, user: User, changes: Any) -> None:
    """Apply `{"email"?, "locale"?}` inside the caller's transaction; PreferenceError for bad values."""
    if not isinstance(changes, dict):
        raise PreferenceError("send a JSON object such as {\"email\": \"daily\"}")
    unknown = sorted(set(changes) - {"email", "locale", "monthly_report"})
    if unknown:
        raise PreferenceError(f"unknown field(s): {', '.join(unknown)}")
    if "email" in changes:
        value = changes["email"]
        if value not in {m.value for m in EmailMode}:
            raise PreferenceError(f"email must be one of {', '.join(m.value for m in EmailMode)}")
        set_email_mode(db, user.id, EmailMode(value))
    if "monthly_report" in changes:
        set_monthly_report(db, user, changes["monthly_report"])
    if "locale" in changes:
        if changes["locale"] not in LOCALES:
            raise PreferenceError(f"locale must be one of {', '.join(LOCALES)}")
        account = db.get(User, user.id)
        if account is not None:
            account.locale = changes["locale"]


def set_email_mode(db: Session, user_id: int, mode: EmailMode) -> None:
    """Record the user's e-mail choice."""
    row = db.get(NotificationPreference, user_id, with_for_update=True)
    if row is None:
        db.add(NotificationPreference(user_id=user_id, email=mode))
    else:
        row.email = mode


def set_monthly_report(db: Session, user: User, wanted: Any) -> None:
    """Opt in to (or out of) the organisation's monthly report; only org admins and viewers may opt in."""
    if not isinstance(wanted, bool):
        raise PreferenceError("monthly_report must be true or false")
    if wanted and not may_receive(user):
        raise PreferenceError("monthly_report is for organisation admins and viewers")
    row = db.get(NotificationPreference, user.id, with_for_update=True)
    if row is None:
        db.add(NotificationPreference(user_id=user.id, email=email_mode(db, user.id), monthly_report=wanted))
    else:
        row.monthly_report = wanted
