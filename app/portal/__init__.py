"""The customer portal (HTML pages); `init_portal` installs its formatting, hardening and error pages."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, render_template, request
from flask_babel import gettext as _

from app.context import current_user
from app.portal.formatting import init_formatting
from app.portal.guard import init_guard
from sync.runtime import Runtime


def _too_many(error: Any) -> Any:
    if request.endpoint == "portal_invite.forgot":
        flash(_("Too many requests for a new password. Wait a while and try again."), "error")
        return render_template("forgot.html", user=None), 429
    if request.endpoint == "portal_2fa.verify":
        flash(_("Too many codes tried. Wait a few minutes and try again."), "error")
        return render_template("login_second_factor.html", user=None), 429
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


def init_portal(app: Flask, runtime: Runtime) -> None:
    """Template formatters, login rate limits and session policy, and the portal's 404/429 pages.

    Call after the portal's blueprints are registered (the rate limit wraps the sign-in view).
    """
    init_formatting(app)
    init_guard(app, runtime)
    app.register_error_handler(429, _too_many)
    app.register_error_handler(404, _not_found)
