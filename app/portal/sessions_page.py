"""The account's signed-in sessions: device, address, when they began and were last used; sign-outs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _

from app.context import SESSION_ID_KEY, current_user, login_required, runtime_of, session_account
from app.services.web_sessions import end_one_session, end_user_sessions, is_current, sessions_of

bp = Blueprint("portal_sessions", __name__, url_prefix="/account/sessions")


def _account_id() -> int:
    # The signed-in person's own sessions, also while an admin views the portal as someone else.
    account = session_account() or current_user()
    return account.id


@bp.get("")
@login_required
def index() -> Any:
    current_id = session.get(SESSION_ID_KEY)
    with runtime_of(current_app).sessions() as db:
        rows = [(row, is_current(row, current_id)) for row in sessions_of(db, _account_id())]
    return render_template("sessions.html", user=current_user(), sessions=rows)


@bp.post("/others/end")
@login_required
def end_others() -> Any:
    with runtime_of(current_app).sessions() as db, db.begin():
        ended = end_user_sessions(db, _account_id(), keep=session.get(SESSION_ID_KEY))
    flash(_("%(n)d other sessions were signed out.", n=ended), "ok")
    return redirect(url_for("portal_sessions.index"))


@bp.post("/<int:row_id>/end")
@login_required
def end_one(row_id: int) -> Any:
    """Sign one of the user's own sessions out (someone else's answers 404)."""
    with runtime_of(current_app).sessions() as db, db.begin():
        if not end_one_session(db, _account_id(), row_id):
            abort(404)
    flash(_("The session was signed out."), "ok")
    return redirect(url_for("portal_sessions.index"))
