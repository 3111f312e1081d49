"""Flask application factory of the stand-in JSM."""

from __future__ import annotations

from flask import Flask

from sandbox import control
from sandbox.api import (
    platform_comments,
    platform_issues,
    platform_metadata,
    platform_search,
    plumbing,
    servicedesk_attachments,
    servicedesk_customers,
    servicedesk_desks,
    servicedesk_requests,
)
from sandbox.site import Sandbox

BLUEPRINT_MODULES = (servicedesk_desks, servicedesk_requests, servicedesk_customers, servicedesk_attachments,
                     platform_search, platform_issues, platform_comments, platform_metadata, control)


def create_app(seed: str = "demo", deployment: str = "cloud", webhook_url: str | None = None,
               webhook_secret: str | None = None, email: str = "admin@sandbox.local",
               token: str = "sandbox-token", base_url: str = "http://127.0.0.1:8081") -> Flask:
    """Build a stand-in JSM site; its state lives in `app.extensions["sandbox"]` (a `Sandbox`)."""
    app = Flask("sandbox")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sandbox"] = Sandbox(seed=seed, deployment=deployment, webhook_url=webhook_url,
                                        webhook_secret=webhook_secret, email=email, token=token,
                                        base_url=base_url)
    plumbing.install(app)
    for module in BLUEPRINT_MODULES:
        app.register_blueprint(module.bp)
    app.register_blueprint(platform_issues.secure_bp)
    return app
