"""Portal hardening: login rate limits in Redis, secure session cookies, forced password change."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, Response, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.context import current_user
from sync.runtime import Runtime

log = logging.getLogger(__name__)
LOGIN_LIMIT = "10 per minute"
LOGIN_IP_LIMIT = "60 per minute"
# Reset mails: a few per address and client, so nobody floods a mailbox or probes addresses by timing.
FORGOT_LIMIT = "3 per 15 minutes"
FORGOT_IP_LIMIT = "20 per hour"
# Pages a user who must change their password may still reach.
_ALLOWED_WHILE_FORCED = {"portal_account.change_password", "portal.logout", "static", "portal.login",
                         "portal_invite.accept", "portal_invite.reset", "portal_invite.forgot"}
_PORTAL_BLUEPRINTS = {"portal", "portal_list", "portal_ticket", "portal_summary", "portal_account",
                      "portal_actions", "portal_invite", "admin_pages", "admin_accounts", "admin_mail"}


def login_key() -> str:
    """Per client address and e-mail, so one attacker cannot lock a victim out from elsewhere."""
    email = (request.form.get("email") or "").strip().lower()[:255]
    return f"login:{get_remote_address()}:{email}"


def forgot_key() -> str:
    email = (request.form.get("email") or "").strip().lower()[:255]
    return f"forgot:{get_remote_address()}:{email}"


def _forgot_limit_message() -> str:
    return _("Too many requests for a new password. Wait a while and try again.")


def _limit_message() -> str:
    return _("Too many sign-in attempts. Wait a minute and try again.")


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (also behind ProxyFix)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_guard(app: Flask, runtime: Runtime) -> None:
    """Install the limiter, the session cookie policy and the forced-password-change redirect."""
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(days=7))
    app.config.setdefault("SESSION_COOKIE_NAME", "companion_session")
    app.session_interface = _SessionInterface()
    # Every web process counts attempts in the install's Redis (configured or embedded); during a Redis
    # outage the limiter falls back to per-process counting instead of locking everybody out.
    uri = app.config.get("RATELIMIT_STORAGE_URI", "redis://")
    options = {"connection_pool": runtime.redis.connection_pool} if uri == "redis://" else {}
    limiter = Limiter(get_remote_address, app=app, strategy="fixed-window", headers_enabled=False,
                      storage_uri=uri, storage_options=options,
                      in_memory_fallback_enabled=True, key_prefix="companion")
    app.view_functions["portal.login"] = limiter.limit(
        LOGIN_LIMIT, key_func=login_key, methods=["POST"], error_message=_limit_message)(
        limiter.limit(LOGIN_IP_LIMIT, methods=["POST"])(app.view_functions["portal.login"]))
    app.view_functions["portal_invite.forgot"] = limiter.limit(
        FORGOT_LIMIT, key_func=forgot_key, methods=["POST"], error_message=_forgot_limit_message)(
        limiter.limit(FORGOT_IP_LIMIT, methods=["POST"], error_message=_forgot_limit_message)(
            app.view_functions["portal_invite.forgot"]))

    @app.before_request
    def _force_password_change() -> Response | None:
        if request.blueprint not in _PORTAL_BLUEPRINTS or request.endpoint in _ALLOWED_WHILE_FORCED:
            return None
        if not session.get("user_id"):
            return None
        user = current_user()
        if user is not None and user.must_change_password:
            return redirect(url_for("portal_account.change_password"))
        return None

    @app.after_request
    def _no_store(response: Response) -> Response:
        # Pages carry other people's tickets: no shared caches, no back-button copies after sign-out.
        if request.blueprint in _PORTAL_BLUEPRINTS and request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
