"""Rate limits beyond sign-in: failed bearer tokens, API calls, live polls and CSV exports.

Each answer under a limit carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(the IETF draft's names), and a refusal is a 429 with `Retry-After`. The webhook receiver and the
health checks are exempt: Jira and the load balancer must always get through, and the limiter's
check costs every request it sees.
"""

from __future__ import annotations

import hashlib

from flask import Flask, request, session
from flask_limiter import HeaderNames, Limiter
from flask_limiter.util import get_remote_address

from app.context import SESSION_ID_KEY, session_account

# Per caller (token, else session user, else address) and minute; generous for people and scripts,
# low enough that a loop cannot take the database for itself.
API_LIMIT = "600 per minute"
BEARER_FAILURE_LIMIT = "30 per minute"
LIVE_POLL_LIMIT = "120 per minute"
EXPORT_LIMIT = "20 per minute"
HEADER_NAMES = {HeaderNames.LIMIT: "RateLimit-Limit", HeaderNames.REMAINING: "RateLimit-Remaining",
                HeaderNames.RESET: "RateLimit-Reset", HeaderNames.RETRY_AFTER: "Retry-After"}
API_BLUEPRINTS = {"api", "actions", "admin_api", "admin_accounts_api", "admin_mapping", "api_me"}
LIVE_ENDPOINTS = {"portal_list.live_list", "portal_ticket.live_ticket"}
EXPORT_ENDPOINTS = {"portal_list.export_csv"}
UNLIMITED_ENDPOINTS = {"webhooks.receive", "health.healthz", "health.readyz"}


def caller_key() -> str:
    """The API token (hashed), else the signed-in user, else the client address."""
    authorization = request.headers.get("Authorization")
    if authorization:
        return "token:" + hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()[:32]
    user = session_account() if session.get(SESSION_ID_KEY) else None
    return f"user:{user.id}" if user is not None else f"addr:{get_remote_address()}"


def _no_bearer() -> bool:
    return "Authorization" not in request.headers


def apply_rate_limits(app: Flask, limiter: Limiter) -> None:
    """Wrap the registered views with their limits (call after every blueprint is registered)."""
    for endpoint in UNLIMITED_ENDPOINTS & set(app.view_functions):
        app.view_functions[endpoint] = limiter.exempt(app.view_functions[endpoint])
    api_limit = limiter.shared_limit(API_LIMIT, scope="api", key_func=caller_key)
    # Counted only when a presented token is refused, per client address: guessing tokens is slow.
    failure_limit = limiter.shared_limit(BEARER_FAILURE_LIMIT, scope="bearer-failures",
                                         key_func=get_remote_address, exempt_when=_no_bearer,
                                         deduct_when=lambda response: response.status_code == 401)
    live_limit = limiter.shared_limit(LIVE_POLL_LIMIT, scope="live", key_func=caller_key)
    export_limit = limiter.shared_limit(EXPORT_LIMIT, scope="export", key_func=caller_key)
    for endpoint, view in list(app.view_functions.items()):
        blueprint = endpoint.rpartition(".")[0]
        if blueprint in API_BLUEPRINTS:
            app.view_functions[endpoint] = failure_limit(api_limit(view))
        elif endpoint in LIVE_ENDPOINTS:
            app.view_functions[endpoint] = live_limit(view)
        elif endpoint in EXPORT_ENDPOINTS:
            app.view_functions[endpoint] = export_limit(view)
