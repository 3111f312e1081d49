"""GET /api/v1/admin/sync: sync health for admins (lag, inbox backlog, failures, JSM calls, watermarks)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app import runtime_of
from app.auth import api_auth_required, current_user
from sync.sync_health import snapshot

bp = Blueprint("admin_sync", __name__, url_prefix="/api/v1/admin")
MAX_FAILED = 200


@bp.get("/sync")
@api_auth_required
def sync_health():  # type: ignore[no-untyped-def]
    """Per-project lag and last event, inbox backlog by state, latest failed events, JSM calls, watermarks."""
    user = current_user()
    if user is None or user.role != "admin":
        # 404 like any other resource outside the caller's scope: non-admins learn nothing.
        response = jsonify(error="not found")
        response.status_code = 404
        return response
    try:
        limit = max(0, min(int(request.args.get("failed", 20)), MAX_FAILED))
    except ValueError:
        limit = 20
    return jsonify(snapshot(runtime_of(current_app), failed_limit=limit))
