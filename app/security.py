"""CSRF on every form (Flask-WTF) and security headers on every response."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}


def init_security(app: Flask) -> None:
    """Enable CSRF for forms (the JSON API and webhooks authenticate otherwise) and set headers."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)

    from app import admin_mapping, api, webhooks

    csrf.exempt(webhooks.bp)  # Jira signs webhooks instead
    # JSON APIs: bearer tokens, or the session cookie with a JSON body, which a cross-site form cannot send
    # (Flask's get_json ignores anything but application/json) and SameSite=Lax withholds the cookie.
    csrf.exempt(api.bp)
    csrf.exempt(admin_mapping.bp)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
