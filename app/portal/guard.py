"""Portal hardening: login rate limits in Redis, secure session cookies, forced password change."""

from __future__ import annotations

import logging

from flask import Flask, Response, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.context import SESSION_ID_KEY, current_user, session_account
from app.errors import json_error
from app.portal.second_factor import pending_user_id
from app.ratelimits import API_BLUEPRINTS, HEADER_NAMES, apply_rate_limits
from app.services.second_factor import must_enrol
from sync.runtime import Runtime

log = logging.getLogger(__name__)
LOGIN_LIMIT = "10 per minute"
LOGIN_IP_LIMIT = "60 per minute"
# Reset mails: a few per address and client, so nobody floods a mailbox or probes addresses by timing.
FORGOT_LIMIT = "3 per 15 minutes"
FORGOT_IP_LIMIT = "20 per hour"
# Pages a user who must change their password may still reach.
_ALLOWED_WHILE_FORCED = {"portal_account.change_password", "portal.logout", "static", "portal.login",
                         "portal_invite.accept", "portal_invite.reset", "portal_invite.forgot", "portal_2fa.verify"}
# Pages a manager without the required second factor may reach: its set-up, and the way out.
_ALLOWED_WHILE_ENROLLING = {"portal_2fa.setup", "portal_2fa.enable", "portal.logout", "static", "portal.login",
                            "portal_2fa.verify", "portal_account.change_password"}
_PORTAL_BLUEPRINTS = {"portal", "portal_list", "portal_ticket", "portal_summary", "portal_account",
                      "portal_actions", "portal_invite", "admin_pages", "admin_accounts", "admin_mail",
                      "portal_sessions", "portal_2fa"}
# Signed webhooks and health checks: no session cookie to judge.
_NO_COOKIE_BLUEPRINTS = {"webhooks", "health"}
# Per user whose password was right: guessing a 6-digit code at this pace takes months.
SECOND_FACTOR_LIMIT = "5 per minute;20 per hour"


def login_key() -> str:
    """Per client address and e-mail, so one attacker cannot lock a victim out from elsewhere."""
    email = (request.form.get("email") or "").strip().lower()[:255]
    return f"login:{get_remote_address()}:{email}"


def forgot_key() -> str:
    email = (request.form.get("email") or "").strip().lower()[:255]
    return f"forgot:{get_remote_address()}:{email}"


def _forgot_limit_message() -> str:
    return _("Too many requests for a new password. Wait a while and try again.")


def second_factor_key() -> str:
    """Per user owing a code (whatever address they try from), else per address."""
    user_id = pending_user_id()
    return f"2fa:user:{user_id}" if user_id is not None else f"2fa:addr:{get_remote_address()}"


def _code_limit_message() -> str:
    return _("Too many codes tried. Wait a few minutes and try again.")


def _limit_message() -> str:
    return _("Too many sign-in attempts. Wait a minute and try again.")


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (also behind ProxyFix)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_guard(app: Flask, runtime: Runtime) -> None:
    """Install the limiter, the session cookie policy and the forced-password-change redirect."""
    app.session_interface = _SessionInterface()
    # Every web process counts attempts in the install's Redis (configured or embedded); during a Redis
    # outage the limiter falls back to per-process counting instead of locking everybody out.
    uri = app.config.get("RATELIMIT_STORAGE_URI", "redis://")
    options = {"connection_pool": runtime.redis.connection_pool} if uri == "redis://" else {}
    limiter = Limiter(get_remote_address, app=app, strategy="fixed-window", headers_enabled=True,
                      header_name_mapping=HEADER_NAMES, storage_uri=uri, storage_options=options,
                      in_memory_fallback_enabled=True, key_prefix="companion")
    apply_rate_limits(app, limiter)
    app.view_functions["portal.login"] = limiter.limit(
        LOGIN_LIMIT, key_func=login_key, methods=["POST"], error_message=_limit_message)(
        limiter.limit(LOGIN_IP_LIMIT, methods=["POST"])(app.view_functions["portal.login"]))
    app.view_functions["portal_invite.forgot"] = limiter.limit(
        FORGOT_LIMIT, key_func=forgot_key, methods=["POST"], error_message=_forgot_limit_message)(
        limiter.limit(FORGOT_IP_LIMIT, methods=["POST"], error_message=_forgot_limit_message)(
            app.view_functions["portal_invite.forgot"]))
    app.view_functions["portal_2fa.verify"] = limiter.limit(
        SECOND_FACTOR_LIMIT, key_func=second_factor_key, methods=["POST"], error_message=_code_limit_message)(
        app.view_functions["portal_2fa.verify"])

    @app.before_request
    def _force_password_change() -> Response | None:
        if request.blueprint not in _PORTAL_BLUEPRINTS or request.endpoint in _ALLOWED_WHILE_FORCED:
            return None
        if not session.get(SESSION_ID_KEY):
            return None
        user = current_user()
        if user is not None and user.must_change_password:
            return redirect(url_for("portal_account.change_password"))
        return None

    @app.before_request
    def _force_second_factor() -> Response | None:
        # Every page and cookie-authenticated API call, until the required factor is set up.
        if request.endpoint in _ALLOWED_WHILE_ENROLLING or request.blueprint in _NO_COOKIE_BLUEPRINTS:
            return None
        if not session.get(SESSION_ID_KEY) or "Authorization" in request.headers:
            return None
        account = session_account()
        if account is None or not must_enrol(account, runtime.settings):
            return None
        if request.blueprint in API_BLUEPRINTS:
            return json_error(403, "set up two-factor sign-in first (/account/two-factor)")
        return redirect(url_for("portal_2fa.setup"))

    @app.after_request
    def _no_store(response: Response) -> Response:
        # Pages carry other people's tickets: no shared caches, no back-button copies after sign-out.
        if request.blueprint in _PORTAL_BLUEPRINTS and request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
