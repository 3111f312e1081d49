"""E-mail settings page (`/account/notifications`) and one-click unsubscribe (`/unsubscribe/<token>`, RFC 8058)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.context import current_user, login_required, runtime_of
from app.security import csrf
from app.services.notification_prefs import (
    PreferenceError,
    preferences,
    set_email_mode,
    set_monthly_report,
    update_preferences,
)
from sync.models import EmailMode, User
from sync.notify.links import unsubscribe_user
from sync.reports.monthly import may_receive

bp = Blueprint("portal_notifications", __name__)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def settings_page() -> Any:
    """Choose instant e-mails, a daily digest, or none, and the language of e-mails."""
    runtime = runtime_of(current_app)
    user = current_user()
    if request.method == "POST":
        try:
            with runtime.sessions() as db, db.begin():
                changes: dict[str, Any] = {k: request.form[k] for k in ("email", "locale") if k in request.form}
                if "monthly_report" in request.form:  # a hidden "false" precedes the checkbox's "true"
                    changes["monthly_report"] = request.form.getlist("monthly_report")[-1] == "true"
                update_preferences(db, user, changes)
        except PreferenceError:
            flash(_("Choose one of the offered options."), "error")
            return redirect(url_for("portal_notifications.settings_page")), 303
        flash(_("Your e-mail settings were saved."), "ok")
        return redirect(url_for("portal_notifications.settings_page")), 303
    with runtime.sessions() as db:
        current = preferences(db, user, runtime.settings.portal.default_locale)
    return render_template("notifications.html", user=user, prefs=current, may_report=may_receive(user))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # mail readers POST here without a session or a form of ours (RFC 8058); the token is the proof
def unsubscribe(token: str) -> Any:
    """GET: a page with one button; POST (the mail reader's one click, or the button): e-mails off."""
    runtime = runtime_of(current_app)
    user_id = unsubscribe_user(runtime.settings, token)
    with runtime.sessions() as db, db.begin():
        user = db.get(User, user_id) if user_id is not None else None
        if user is None:
            abort(404)
        if request.method == "POST":
            set_email_mode(db, user.id, EmailMode.OFF)
            set_monthly_report(db, user, False)  # "no more e-mails" means the monthly report too
    return render_template("unsubscribe.html", done=request.method == "POST", token=token)
