"""The Flask application: webhook receiver, JSON API, customer portal and admin pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from sync.runtime import Runtime
from sync.settings import Settings, load_settings

MAX_BODY_BYTES = 1024 * 1024  # webhooks over 1 MiB answer 413


def create_app(settings: Settings | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application for one install (its settings decide database, Redis and JSM)."""
    settings = settings or load_settings()
    runtime = Runtime(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.effective_secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["companion"] = runtime
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from app import actions, admin_mapping, admin_pages, admin_sync, api, health, openapi, portal, webhooks
    from app.i18n import init_i18n
    from app.security import init_security

    init_i18n(app, settings)
    init_security(app)
    for blueprint in (webhooks.bp, health.bp, api.bp, openapi.bp, admin_mapping.bp, admin_pages.bp, portal.bp,
                      admin_sync.bp):
        app.register_blueprint(blueprint)
    portal.register_extras(app)  # list, request, summary and account pages; login rate limits
    actions.register(app)  # actions API, portal action forms, outbox admin
    return app


def runtime_of(app: Flask) -> Runtime:
    """The runtime (settings, database, Redis) the app was built with."""
    return app.extensions["companion"]
