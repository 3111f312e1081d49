"""The Flask application: `create_app` wires every blueprint, CSRF exemption and extension in one place."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import health, webhooks
from app.admin import accounts as admin_accounts_pages
from app.admin import mail as admin_mail_page
from app.admin import mapping as admin_mapping_page
from app.admin import operations as admin_operations_pages
from app.admin import share_links as admin_share_links
from app.admin import user_detail as admin_user_page
from app.admin import view_as
from app.api import actions as api_actions
from app.api import admin as api_admin
from app.api import admin_accounts as api_admin_accounts
from app.api import admin_users as api_admin_users
from app.api import mapping as api_mapping
from app.api import me as api_me
from app.api import openapi as api_openapi
from app.api import tickets as api_tickets
from app.assets import init_assets
from app.context import RUNTIME_KEY
from app.i18n import init_i18n
from app.jsoninput import StrictJSONProvider
from app.portal import (
    account,
    init_portal,
    invite,
    list_page,
    notifications,
    second_factor,
    sessions_page,
    share_public,
    signin,
    summary,
    ticket,
)
from app.portal import actions as portal_actions
from app.portal import report as portal_report
from app.portal import settings as portal_settings
from app.redaction import install_redaction
from app.requestlog import init_request_log
from app.security import csrf, guard_cookie_writes, init_security
from app.webhook_dispatch import WebhookDispatch
from sync.runtime import Runtime
from sync.settings import Settings, load_settings

MAX_BODY_BYTES = 1024 * 1024  # webhooks over 1 MiB answer 413

# Every blueprint of the app, and whether CSRF protection is off for it: Jira signs webhooks instead,
# and the JSON APIs take bearer tokens, or the session cookie with a JSON body, which a cross-site
# form cannot send (Flask's get_json ignores anything but application/json) and SameSite=Lax withholds.
BLUEPRINTS: tuple[tuple[Blueprint, bool], ...] = (
    (webhooks.bp, True),
    (health.bp, False),
    (api_tickets.bp, True),
    (api_actions.bp, True),
    (api_mapping.bp, True),
    (api_admin.bp, True),
    (api_admin_accounts.bp, True),
    (api_admin_users.bp, True),
    (api_me.bp, True),
    (api_openapi.bp, False),
    (signin.bp, False),
    (list_page.bp, False),
    (ticket.bp, False),
    (portal_actions.bp, False),
    (summary.bp, False),
    (account.bp, False),
    (sessions_page.bp, False),
    (second_factor.bp, False),
    (invite.bp, False),
    (notifications.bp, False),
    (admin_mapping_page.bp, False),
    (admin_accounts_pages.bp, False),
    (admin_operations_pages.bp, False),
    (admin_user_page.bp, False),
    (portal_settings.bp, False),
    (view_as.bp, False),
    (admin_mail_page.bp, False),
    (share_public.bp, False),
    (portal_report.bp, False),
    (admin_share_links.bp, False),
)


def create_app(settings: Settings | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application for one install (its settings decide database, Redis and JSM)."""
    settings = settings or load_settings()
    runtime = Runtime(settings)
    settings.webhook_secrets  # noqa: B018 (in sandbox mode, generated at start rather than on a delivery)
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.effective_secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Set here, not by setdefault: Flask defines both keys (31 days, "session") before any default.
        SESSION_COOKIE_NAME="companion_session",
        # As long as the server-side session can live (security.session_absolute_hours); the server
        # enforces that and the idle timeout, the cookie's expiry only tidies the browser.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.security.session_absolute_hours),
        # Re-sent only when it changes: a live poll answered after a language switch (or any other change)
        # would otherwise put back the cookie it was sent with, undoing the change. The lifetime is counted
        # from sign-in, not slid forward by every request.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    if test_config:
        app.config.update(test_config)
    # A webhook delivery skips Flask's per-request hooks, which decide nothing for it; behind the proxy fix,
    # so its answer knows the scheme the client used (HSTS) as every other answer does.
    app.wsgi_app = WebhookDispatch(app.wsgi_app, runtime, MAX_BODY_BYTES)  # type: ignore[method-assign]
    if settings.proxy.trusted_hops:
        # Client address, scheme and host from the proxies' X-Forwarded-* headers (login limits, Secure, HSTS).
        hops = settings.proxy.trusted_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.extensions[RUNTIME_KEY] = runtime
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()

    init_request_log(app)
    init_i18n(app, settings)
    init_security(app)
    init_assets(app)
    for blueprint, csrf_exempt in BLUEPRINTS:
        app.register_blueprint(blueprint)
        if csrf_exempt:
            csrf.exempt(blueprint)
    guard_cookie_writes(app, frozenset(bp.name for bp, exempt in BLUEPRINTS if exempt and bp is not webhooks.bp))
    init_portal(app, runtime)
    return app
