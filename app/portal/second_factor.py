"""Two-factor sign-in (TOTP): the code step after the password, set-up with a QR code, recovery codes.

After a correct password a user with the factor on is only *pending*: the cookie names them and when
the password was accepted, nothing more, and no session exists until a code matches. The code step is
rate-limited per user (app.portal.guard) and lapses after a few minutes or a few wrong codes.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.context import current_user, log_in, login_required, runtime_of, session_account
from app.services import second_factor as factor
from app.services.accounts import password_matches
from sync.models import User, utcnow

bp = Blueprint("portal_2fa", __name__)
PENDING_KEY = "pending_2fa"
PENDING_SECONDS = 300
PENDING_ATTEMPTS = 5


def password_accepted(db: Any, user: User, next_url: str | None) -> Response:
    """The password was right: ask for the code when the factor is on, else sign in."""
    if factor.is_enabled(user):
        session.clear()
        session[PENDING_KEY] = {"u": user.id, "t": int(time.time()), "n": 0, "next": next_url}
        return redirect(url_for("portal_2fa.verify"))
    return _complete(db, user, next_url)


def _complete(db: Any, user: User, next_url: str | None) -> Response:
    user.last_login_at = utcnow()
    log_in(db, user)
    db.commit()
    if user.must_change_password:
        return redirect(url_for("portal_account.change_password"))
    if factor.must_enrol(user, runtime_of(current_app).settings):
        return redirect(url_for("portal_2fa.setup"))
    return redirect(next_url or url_for("portal.index"))


def pending_user_id() -> int | None:
    """The user who gave a right password and owes a code, while that is fresh (the rate limit's key)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - int(pending.get("t") or 0) > PENDING_SECONDS:
        return None
    return int(pending["u"]) if isinstance(pending.get("u"), int) else None


@bp.route("/login/second-factor", methods=["GET", "POST"])
def verify() -> Any:
    """The code from the authenticator app, or a recovery code."""
    user_id = pending_user_id()
    if user_id is None:
        session.pop(PENDING_KEY, None)
        flash(_("Sign in again: the time for the code has run out."), "error")
        return redirect(url_for("portal.login"))
    if request.method == "GET":
        return render_template("login_second_factor.html", user=None)
    pending = dict(session[PENDING_KEY])
    runtime = runtime_of(current_app)
    with runtime.sessions() as db:
        user = db.get(User, user_id)
        if user is not None and user.active and factor.is_enabled(user) and \
                factor.verify_sign_in(db, user, (request.form.get("code") or "")[:64], runtime.settings):
            return _complete(db, user, pending.get("next"))
        db.commit()  # a recovery code is not spent on a miss, but a TOTP step may have been recorded
    pending["n"] = int(pending.get("n") or 0) + 1
    if pending["n"] >= PENDING_ATTEMPTS:
        session.pop(PENDING_KEY, None)
        flash(_("Too many wrong codes. Sign in again."), "error")
        return redirect(url_for("portal.login"))
    session[PENDING_KEY] = pending
    flash(_("That code is not right. Try the current one from your app, or a recovery code."), "error")
    return render_template("login_second_factor.html", user=None), 401


@bp.get("/account/two-factor")
@login_required
def setup() -> Any:
    """The factor's state; without one, a new secret to scan (shown in this response only)."""
    account = session_account() or current_user()
    runtime = runtime_of(current_app)
    with runtime.sessions() as db, db.begin():
        user = db.get(User, account.id)
        enabled = factor.is_enabled(user)
        secret = uri = None
        if not enabled:
            secret = factor.begin_enrolment(user, runtime.settings)
            uri = factor.provisioning_uri(user, secret)
        left = factor.recovery_codes_left(db, user) if enabled else 0
        required = factor.required_for(user, runtime.settings)
    return render_template("two_factor.html", user=account, enabled=enabled, secret=secret, uri=uri,
                           qr=factor.qr_data_uri(uri) if uri else None, codes_left=left, required=required,
                           new_codes=None)


@bp.post("/account/two-factor/enable")
@login_required
def enable() -> Any:
    account = session_account() or current_user()
    runtime = runtime_of(current_app)
    with runtime.sessions() as db, db.begin():
        user = db.get(User, account.id)
        codes = factor.confirm_enrolment(db, user, (request.form.get("code") or "")[:64], runtime.settings)
    if codes is None:
        flash(_("That code is not right. Scan the new QR code and enter the code your app shows."), "error")
        return redirect(url_for("portal_2fa.setup"))
    flash(_("Two-factor sign-in is on."), "ok")
    return _codes_page(account, codes)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def regenerate() -> Any:
    account = session_account() or current_user()
    with runtime_of(current_app).sessions() as db, db.begin():
        user = db.get(User, account.id)
        if not factor.is_enabled(user) or not password_matches(user, request.form.get("password") or ""):
            flash(_("The password is wrong."), "error")
            return redirect(url_for("portal_2fa.setup"))
        codes = factor.new_recovery_codes(db, user)
    return _codes_page(account, codes)


def _codes_page(account: User, codes: list[str]) -> str:
    # Like a new API token: in this response only, never in the (readable) session cookie.
    return render_template("two_factor.html", user=account, enabled=True, secret=None, uri=None, qr=None,
                           codes_left=len(codes), required=False, new_codes=codes)


@bp.post("/account/two-factor/disable")
@login_required
def disable() -> Any:
    account = session_account() or current_user()
    runtime = runtime_of(current_app)
    with runtime.sessions() as db, db.begin():
        user = db.get(User, account.id)
        if factor.required_for(user, runtime.settings):
            flash(_("Your role requires two-factor sign-in; it cannot be turned off."), "error")
        elif not password_matches(user, request.form.get("password") or ""):
            flash(_("The password is wrong."), "error")
        else:
            factor.turn_off(db, user)
            flash(_("Two-factor sign-in is off."), "ok")
    return redirect(url_for("portal_2fa.setup"))
