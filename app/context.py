"""What a request runs in: the app's runtime, the signed-in user, page sign-in, language and time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo
from functools import wraps
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import get_locale

from app.services.accounts import auth_epoch, user_for_token
from sync.models import User
from sync.permissions import is_admin
from sync.runtime import Runtime

RUNTIME_KEY = "companion"
VIEW_AS_KEY = "view_as"  # the session key naming the user an admin views the portal as
TZ_COOKIE = "tz"  # set by portal.js from Intl.DateTimeFormat(); the user's saved zone wins over it


def runtime_of(app: Flask) -> Runtime:
    """The runtime (settings, database, Redis) the app was built with."""
    return app.extensions[RUNTIME_KEY]


def current_user() -> User | None:
    """The authenticated user of this request (bearer token first, then the session cookie)."""
    if "user" in g:
        return g.user
    user = None
    with runtime_of(current_app).sessions() as db:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                user = user_for_token(db, token.strip())
        elif session.get("user_id"):
            user = db.get(User, session["user_id"])
            if user is not None and (not user.active or session.get("auth_epoch") != auth_epoch(user)):
                user = None
            if user is not None and session.get(VIEW_AS_KEY):
                user = _viewed_by(db, user)
    g.user = user
    return user


def _viewed_by(db: Any, admin: User) -> User | None:
    """'View as': an admin's session shows the portal as the chosen active user; anyone else's flag is void."""
    viewed = db.get(User, session.get(VIEW_AS_KEY))
    if not is_admin(admin) or viewed is None or not viewed.active:
        session.pop(VIEW_AS_KEY, None)
        return admin
    g.viewing_admin = admin
    return viewed


def viewing_admin() -> User | None:
    """The admin behind a 'view as' request (the request is then read-only), else None."""
    current_user()
    return g.get("viewing_admin")


def log_in(user: User) -> None:
    """Start a portal session for `user` (a password change ends every other session)."""
    session.clear()
    session["user_id"] = user.id
    session["auth_epoch"] = auth_epoch(user)
    session.permanent = True


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages: send a visitor who is not signed in to the sign-in page, and back here afterwards."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            target = request.full_path.rstrip("?")
            return redirect(url_for("portal.login", next=target if target != "/" else None))
        return view(*args, **kwargs)

    return wrapper


def locale_code() -> str:
    """The active UI language code ('en' or 'ru')."""
    return str(get_locale() or "en")


def _zone(name: str | None) -> tzinfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def user_zone(user: User | None = None) -> tzinfo:
    """The reader's time zone: their account setting, else the browser's (cookie), else UTC."""
    if "portal_tz" in g:
        return g.portal_tz
    cookie = unquote(request.cookies.get(TZ_COOKIE) or "")  # portal.js URL-encodes the "/" of "Europe/Moscow"
    zone = _zone(user.timezone if user is not None else None) or _zone(cookie) or UTC
    g.portal_tz = zone
    return zone
