"""Accepting an invitation or a reset link: the person sets their password and is signed in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.context import runtime_of
from app.portal.second_factor import password_accepted
from app.services.accounts import hash_password, revoke_tokens
from app.services.invitations import Purpose, request_reset, user_for_link
from app.services.web_sessions import end_user_sessions
from sync.jobs import request_notifications

bp = Blueprint("portal_invite", __name__)
MIN_PASSWORD = 10


def _problem(new: str, again: str) -> str | None:
    if len(new) < MIN_PASSWORD:
        return _("The new password must have at least %(n)d characters.", n=MIN_PASSWORD)
    if len(new) > 256:
        return _("The new password is too long.")
    if new != again:
        return _("The two new passwords differ.")
    return None


def _accept(token: str, purpose: Purpose) -> Any:
    with runtime_of(current_app).sessions() as db:
        user = user_for_link(db, current_app.config["SECRET_KEY"], token, purpose)
        if user is None:
            abort(404)  # unknown, expired or already used: nothing to tell apart
        if request.method == "GET":
            return render_template("invite.html", user=None, invited=user, purpose=purpose)
        problem = _problem(request.form.get("new_password") or "", request.form.get("confirm_password") or "")
        if problem is not None:
            flash(problem, "error")
            return render_template("invite.html", user=None, invited=user, purpose=purpose), 400
        user.password_hash = hash_password(request.form["new_password"])
        user.must_change_password = False
        end_user_sessions(db, user.id)  # whoever else was signed in is out
        if request.form.get("revoke_tokens"):  # the reset form offers it, ticked: the password may have leaked
            revoke_tokens(db, user)
        db.commit()  # the password is set (and the link spent) whether or not a code is still owed
        flash(_("Your password was set. Welcome!"), "ok")
        # A link in a mailbox is not a second factor: with one on, its code is asked as at any sign-in.
        return password_accepted(db, user, None)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept(token: str) -> Any:
    """Set a first password through an invitation (single use, 7 days)."""
    return _accept(token, "invite")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Any:
    """Set a new password through a reset link (single use, 1 hour)."""
    return _accept(token, "reset")


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot() -> Any:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    if request.method == "POST":
        runtime = runtime_of(current_app)
        with runtime.sessions() as db, db.begin():
            mail = request_reset(db, runtime.settings, request.form.get("email") or "")
        if mail is not None:
            request_notifications(runtime.redis)
        flash(_("If an account uses this address, a link to choose a new password is on its way. "
                "It works once, for 1 hour."), "ok")
        return redirect(url_for("portal.login"))
    return render_template("forgot.html", user=None)
