"""Flask application factory of the stand-in JSM."""

from __future__ import annotations

from flask import Flask

from sandbox import api_platform, api_platform_meta, api_sd_extra, api_servicedesk, control, web
from sandbox.core import Sandbox


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
    web.install(app)
    for module in (api_servicedesk, api_sd_extra, api_platform, api_platform_meta, control):
        app.register_blueprint(module.bp)
    app.register_blueprint(api_platform.secure_bp)
    return app
