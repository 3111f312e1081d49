"""The caller's own settings: `GET|PUT /api/v1/me/notifications`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from app.auth import api_auth_required
from app.context import current_user, runtime_of
from app.errors import json_error
from app.services.notification_prefs import PreferenceError, preferences, update_preferences

bp = Blueprint("api_me", __name__, url_prefix="/api/v1/me")


@bp.get("/notifications")
@api_auth_required
def get_notifications() -> Any:
    """The caller's e-mail choice and language."""
    runtime = runtime_of(current_app)
    with runtime.sessions() as db:
        return jsonify(preferences(db, current_user(), runtime.settings.portal.default_locale))


@bp.put("/notifications")
@api_auth_required
def put_notifications() -> Any:
    """Change the caller's e-mail choice and/or language."""
    runtime = runtime_of(current_app)
    body = request.get_json(silent=True)
    try:
        with runtime.sessions() as db, db.begin():
            update_preferences(db, current_user(), body)
    except PreferenceError as exc:
        return json_error(400, str(exc))
    with runtime.sessions() as db:
        return jsonify(preferences(db, current_user(), runtime.settings.portal.default_locale))
