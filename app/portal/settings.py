"""Account settings for everyone: language, time zone, interface theme, and links to password, tokens, mail."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app.context import current_user, login_required, runtime_of
from sync.models import User

bp = Blueprint("portal_settings", __name__, url_prefix="/account")
THEMES = ("system", "light", "dark")


@cache
def _zones() -> list[str]:
    return sorted(available_timezones())


def _problem(locale: str, zone: str, theme: str) -> str | None:
    if locale and locale not in current_app.config["COMPANION_LOCALES"]:
        return _("Unknown language.")
    if zone and zone not in _zones():
        return _("Unknown time zone %(zone)s.", zone=zone[:64])
    if theme not in THEMES:
        return _("Unknown theme.")
    return None


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings_page() -> Any:
    """Empty language or zone means "the browser's"; a saved one wins over it."""
    user = current_user()
    if request.method == "POST":
        locale = (request.form.get("locale") or "").strip()
        zone = (request.form.get("timezone") or "").strip()
        theme = (request.form.get("theme") or "system").strip()
        problem = _problem(locale, zone, theme)
        if problem is not None:
            flash(problem, "error")
            return render_template("settings.html", user=user, zones=_zones(), themes=THEMES), 400
        with runtime_of(current_app).sessions() as db, db.begin():
            account = db.get(User, user.id)
            account.locale, account.timezone = locale or None, zone or None
            account.theme = None if theme == "system" else theme
        if locale:
            session["lang"] = locale
        else:
            session.pop("lang", None)
        flash(_("Settings saved."), "ok")
        return redirect(url_for("portal_settings.settings_page"))
    return render_template("settings.html", user=user, zones=_zones(), themes=THEMES)
