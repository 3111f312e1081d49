"""The portal's entry points: sign in, sign out, and the home page (the ticket list)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.context import current_user, log_out, login_required, runtime_of
from app.portal.list_page import list_page
from app.portal.second_factor import password_accepted
from app.services.accounts import hash_password, password_matches
from sync.models import User

bp = Blueprint("portal", __name__)
# Compared against when the e-mail is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: "//evil.example" or "https://..." would make the login an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Email + password sign-in (rate-limited per address and e-mail by app.portal.guard)."""
    next_url = _safe_next(request.values.get("next"))
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()[:255]
        password = (request.form.get("password") or "")[:1024]
        with runtime_of(current_app).sessions() as db:
            user = db.scalars(select(User).where(User.email == email, User.active.is_(True))).first()
            if user is None:
                password_matches(User(password_hash=_DUMMY_HASH), password)
            elif password_matches(user, password):
                return password_accepted(db, user, next_url)
        flash(_("Wrong email or password."), "error")
        return render_template("login.html", email=email, next=next_url, user=None), 401
    if current_user() is not None:
        return redirect(next_url or url_for("portal.index"))
    return render_template("login.html", email="", next=next_url, user=None)


@bp.post("/logout")
def logout() -> Any:
    """End the portal session (the language choice survives)."""
    lang = session.get("lang")
    with runtime_of(current_app).sessions() as db, db.begin():
        log_out(db)
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "ok")
    return redirect(url_for("portal.login"))


@bp.get("/")
@login_required
def index() -> Any:
    """The ticket list of the signed-in user's scope."""
    return list_page(current_user())
