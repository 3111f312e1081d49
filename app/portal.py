"""The customer portal's entry points: sign in/out, the ticket list, and wiring of the portal modules."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app import runtime_of
from app.auth import current_user, hash_password, log_in, password_matches
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
    """Email + password sign-in (rate-limited per address and e-mail by portal_guard)."""
    next_url = _safe_next(request.values.get("next"))
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()[:255]
        password = (request.form.get("password") or "")[:1024]
        with runtime_of(current_app).sessions() as db:
            user = db.scalars(select(User).where(User.email == email, User.active.is_(True))).first()
            if user is None:
                password_matches(User(password_hash=_DUMMY_HASH), password)
            elif password_matches(user, password):
                log_in(user)
                if user.must_change_password:
                    return redirect(url_for("portal_account.change_password"))
                return redirect(next_url or url_for("portal.index"))
        flash(_("Wrong email or password."), "error")
        return render_template("login.html", email=email, next=next_url, user=None), 401
    if current_user() is not None:
        return redirect(next_url or url_for("portal.index"))
    return render_template("login.html", email="", next=next_url, user=None)


@bp.post("/logout")
def logout() -> Any:
    """End the portal session (the language choice survives)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "ok")
    return redirect(url_for("portal.login"))


@bp.get("/")
def index() -> Any:
    """The ticket list of the signed-in user's scope."""
    user = current_user()
    if user is None:
        return redirect(url_for("portal.login"))
    from app.portal_list import list_page

    return list_page(user)


def _too_many(error: Any) -> Any:
    if request.endpoint != "portal.login":
        return error
    flash(_("Too many sign-in attempts. Wait a minute and try again."), "error")
    email = (request.form.get("email") or "").strip().lower()[:255]
    return render_template("login.html", email=email, next=None, user=None), 429


def _not_found(error: Any) -> Any:
    # Only the portal's pages get the friendly page; JSON routes keep their own answers.
    if request.path.startswith(("/api/", "/webhooks/", "/live/", "/static/")) or (
            request.blueprint and not request.blueprint.startswith("portal")):
        return error
    return render_template("404.html", user=current_user()), 404


def register_extras(app: Flask) -> None:
    """Register the portal's other blueprints, formatting, error pages and hardening on `app`."""
    from app import portal_account, portal_list, portal_summary, portal_ticket
    from app.portal_format import init_formatting
    from app.portal_guard import init_guard

    for module in (portal_list, portal_ticket, portal_summary, portal_account):
        app.register_blueprint(module.bp)
    init_formatting(app)
    init_guard(app, runtime_of(app))
    app.register_error_handler(429, _too_many)
    app.register_error_handler(404, _not_found)
