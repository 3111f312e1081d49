"""CSRF on every form (Flask-WTF; `create_app` lists the exempt JSON blueprints) and security headers."""

from __future__ import annotations

from flask import Flask, Response, request, session
from flask_wtf.csrf import CSRFProtect

from app.context import SESSION_ID_KEY, current_user
from app.errors import json_error

csrf = CSRFProtect()
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A header a cross-site form cannot set (and a cross-site script cannot without a CORS preflight).
CSRF_HEADER = "X-Requested-With"
# The API endpoints a user who must change their password may still call with their session cookie.
_API_ALLOWED_WHILE_FORCED: frozenset[str] = frozenset({"openapi.openapi_json"})

# Sent with every answer, the webhook receiver's too (app.webhook_dispatch).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
}

# The one route meant for other sites' iframes (a share link's card) sends this instead: any page may frame
# it, and no X-Frame-Options goes with it (that header cannot say "anyone").
EMBEDDABLE_CSP = SECURITY_HEADERS["Content-Security-Policy"].replace("frame-ancestors 'none'", "frame-ancestors *")


def init_security(app: Flask) -> None:
    """Enable CSRF for forms and set the headers; `create_app` exempts what authenticates otherwise."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        embeddable = response.headers.get("Content-Security-Policy") == EMBEDDABLE_CSP
        for name, value in SECURITY_HEADERS.items():
            if not (embeddable and name == "X-Frame-Options"):
                response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def guard_cookie_writes(app: Flask, exempt_blueprints: frozenset[str]) -> None:
    """Cookie-authenticated calls into CSRF-exempt blueprints: writes need JSON or X-Requested-With,
    and a user who must change their password reaches none of them until they have.

    Bearer-token calls carry no ambient credential, so neither rule applies to them; webhooks are
    signed and carry no cookie either.
    """

    @app.before_request
    def _cookie_guard() -> Response | None:
        if request.blueprint not in exempt_blueprints or "Authorization" in request.headers:
            return None
        if not session.get(SESSION_ID_KEY):
            return None
        if request.method not in _SAFE_METHODS and not request.is_json and CSRF_HEADER not in request.headers:
            # A same-site <form> can POST with the cookie (SameSite=Lax allows it) but only as a form.
            return json_error(403, f"a request authenticated by the session cookie must send JSON "
                                   f"(Content-Type: application/json) or the {CSRF_HEADER} header")
        user = current_user()
        if user is not None and user.must_change_password and request.endpoint not in _API_ALLOWED_WHILE_FORCED:
            return json_error(403, "change your password first (/account/password)")
        return None
