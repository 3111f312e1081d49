"""Who is asking: bearer API tokens or the portal session; passwords and tokens stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import json_error
from sync.models import ApiToken, User, utcnow

TOKEN_PREFIX = "jsmc_"


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug)."""
    return generate_password_hash(password)


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's password."""
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def hash_token(token: str) -> str:
    """API tokens are random and long, so a plain SHA-256 is enough (no salt or KDF needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str = "") -> str:
    """Create an API token for `user`; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), name=name))
    return token


def _user_from_bearer(db: Session, header: str) -> User | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip()),
                                            ApiToken.revoked_at.is_(None))).first()
    if row is None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    db.commit()
    return row.user


def current_user() -> User | None:
    """The authenticated user of this request (bearer token first, then the session cookie)."""
    if "user" in g:
        return g.user
    from app import runtime_of

    user = None
    with runtime_of(current_app).sessions() as db:
        header = request.headers.get("Authorization", "")
        if header:
            user = _user_from_bearer(db, header)
        elif session.get("user_id"):
            user = db.get(User, session["user_id"])
            if user is not None and (not user.active or session.get("auth_epoch") != _auth_epoch(user)):
                user = None
    g.user = user
    return user


def _auth_epoch(user: User) -> str:
    # Changing the password invalidates every session made with the old one.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def log_in(user: User) -> None:
    """Start a portal session for `user`."""
    session.clear()
    session["user_id"] = user.id
    session["auth_epoch"] = _auth_epoch(user)
    session.permanent = True


def api_auth_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """JSON 401 unless the request is authenticated."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            response = json_error(401, "authentication required: send 'Authorization: Bearer <api token>'")
            response.headers["WWW-Authenticate"] = 'Bearer realm="jsm-companion"'
            return response
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """JSON 401 when not signed in, 404 for non-admins (admin URLs are not advertised to customers)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return api_auth_required(view)(*args, **kwargs)
        if user.role != "admin":
            # 404 like any resource outside the caller's scope: non-admins learn nothing.
            return json_error(404, "not found")
        return view(*args, **kwargs)

    return wrapper
