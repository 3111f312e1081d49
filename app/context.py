"""What a request runs in: the app's runtime, the signed-in user, page sign-in, language and time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta, tzinfo
from functools import wraps
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import get_locale

from app.services.accounts import user_for_token
from app.services.web_sessions import Timeouts, end_session, live_session, purge_expired, start_session
from sync.models import User
from sync.permissions import is_admin
from sync.runtime import Runtime

RUNTIME_KEY = "companion"
VIEW_AS_KEY = "view_as"  # the session key naming the user an admin views the portal as
TZ_COOKIE = "tz"  # set by portal.js from Intl.DateTimeFormat(); the user's saved zone wins over it
# The session key holding the server-side session's id (app.services.web_sessions): the cookie's only
# credential. Flask's signed cookie still carries the language, flashes and the CSRF token.
SESSION_ID_KEY = "sid"
# Automatic polls of an open page are not activity: a forgotten tab must still reach the idle timeout.
_NOT_ACTIVITY_PREFIX = "/live/"


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
        elif session.get(SESSION_ID_KEY):
            row = live_session(db, str(session[SESSION_ID_KEY]), session_timeouts(),
                               touch=not request.path.startswith(_NOT_ACTIVITY_PREFIX))
            user = db.get(User, row.user_id) if row is not None else None
            if user is not None and not user.active:
                user = None
            g.session_account = user
            if user is not None and session.get(VIEW_AS_KEY):
                user = _viewed_by(db, user)
    g.user = user
    return user


def session_account() -> User | None:
    """The user signed in by this request's session cookie (the admin, not whom they view as), else None."""
    current_user()
    return g.get("session_account")


def session_timeouts() -> Timeouts:
    """The install's idle and absolute session timeouts (`security.session_*`)."""
    security = runtime_of(current_app).settings.security
    return Timeouts(idle=timedelta(minutes=security.session_idle_minutes),
                    absolute=timedelta(hours=security.session_absolute_hours))


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


def log_in(db: Any, user: User) -> None:
    """Start a server-side session for `user` in the caller's transaction, replacing this browser's."""
    log_out(db)
    purge_expired(db, session_timeouts())  # rows of sessions nobody came back to
    session[SESSION_ID_KEY] = start_session(db, user, request.user_agent.string or "", request.remote_addr or "")
    session.permanent = True
    g.pop("user", None)
    g.pop("session_account", None)


def log_out(db: Any) -> None:
    """End this browser's server-side session (a copy of its cookie stops working) and clear the cookie."""
    session_id = session.get(SESSION_ID_KEY)
    if session_id:
        end_session(db, str(session_id))
    session.clear()


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
