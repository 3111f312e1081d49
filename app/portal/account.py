"""Account pages: change password (forced on first sign-in) and personal API tokens (optionally expiring)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.context import SESSION_ID_KEY, current_user, login_required, runtime_of
from app.services.accounts import hash_password, issue_token, password_matches, revoke_tokens
from app.services.web_sessions import end_user_sessions
from sync.models import ApiToken, User, utcnow

bp = Blueprint("portal_account", __name__, url_prefix="/account")
MIN_PASSWORD = 10
MAX_TOKENS = 20
# Lifetimes offered for a new API token, in days (0: until revoked).
TOKEN_DAYS = (0, 7, 30, 90, 365)


def _password_problem(user: User, current: str, new: str, again: str) -> str | None:
    if not password_matches(user, current):
        return _("The current password is wrong.")
    if len(new) < MIN_PASSWORD:
        return _("The new password must have at least %(n)d characters.", n=MIN_PASSWORD)
    if len(new) > 256:
        return _("The new password is too long.")
    if new != again:
        return _("The two new passwords differ.")
    if new == current:
        return _("Choose a password different from the current one.")
    return None


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Change the password: every other session ends; the API tokens too if the user ticks the box."""
    user = current_user()
    if request.method == "POST":
        revoked = 0
        with runtime_of(current_app).sessions() as db, db.begin():
            account = db.get(User, user.id)
            problem = _password_problem(account, request.form.get("current_password") or "",
                                        request.form.get("new_password") or "",
                                        request.form.get("confirm_password") or "")
            if problem is None:
                account.password_hash = hash_password(request.form["new_password"])
                account.must_change_password = False
                end_user_sessions(db, account.id, keep=session.get(SESSION_ID_KEY))
                if request.form.get("revoke_tokens"):
                    revoked = revoke_tokens(db, account)
        if problem is None:
            flash(_("Your password was changed. Your other sessions were signed out."), "ok")
            if revoked:
                flash(_("%(n)d API tokens were revoked.", n=revoked), "ok")
            return redirect(url_for("portal.index"))
        flash(problem, "error")
        return render_template("password.html", user=user, forced=user.must_change_password), 400
    return render_template("password.html", user=user, forced=user.must_change_password)


@bp.get("/tokens")
@login_required
def tokens() -> Any:
    """The user's API tokens (never the tokens themselves, only names and dates)."""
    return _tokens_page(current_user())


def _tokens_page(user: User, new_token: str | None = None) -> str:
    # A new token is rendered into this one response only: the session cookie is readable by
    # whoever holds it, so a secret must never travel in it.
    with runtime_of(current_app).sessions() as db:
        rows = db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                          .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())).all()
    return render_template("tokens.html", user=user, tokens=rows, new_token=new_token, token_days=TOKEN_DAYS,
                           now=utcnow())


@bp.post("/tokens")
@login_required
def create_token() -> Any:
    """Create a token; it is shown once on the next page and stored only as a hash."""
    user = current_user()
    name = (request.form.get("name") or "").strip()[:128] or _("API token")
    days = request.form.get("expires_days", "0")
    if days not in {str(d) for d in TOKEN_DAYS}:
        flash(_("Choose how long the token lasts from the list."), "error")
        return redirect(url_for("portal_account.tokens"))
    expires_at = utcnow() + timedelta(days=int(days)) if int(days) else None
    with runtime_of(current_app).sessions() as db, db.begin():
        active = db.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id,
                                                      ApiToken.revoked_at.is_(None))).all()
        if len(active) >= MAX_TOKENS:
            flash(_("You already have %(n)d active tokens; revoke one first.", n=MAX_TOKENS), "error")
            return redirect(url_for("portal_account.tokens"))
        new_token = issue_token(db, db.get(User, user.id), name, expires_at)
    return _tokens_page(user, new_token)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    """Revoke one of the user's own tokens; someone else's answers 404."""
    user = current_user()
    with runtime_of(current_app).sessions() as db, db.begin():
        row = db.scalars(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)).first()
        if row is None:
            abort(404)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
    flash(_("The token was revoked."), "ok")
    return redirect(url_for("portal_account.tokens"))
