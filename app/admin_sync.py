"""GET /api/v1/admin/sync: sync health for admins (lag, inbox backlog, failures, JSM calls, watermarks)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app import runtime_of
from app.auth import admin_required
from sync.inbound.health import snapshot

bp = Blueprint("admin_sync", __name__, url_prefix="/api/v1/admin")
MAX_FAILED = 200


@bp.get("/sync")
@admin_required
def sync_health():  # type: ignore[no-untyped-def]
    """Per-project lag and last event, inbox backlog by state, latest failed events, JSM calls, watermarks."""
    try:
        limit = max(0, min(int(request.args.get("failed", 20)), MAX_FAILED))
    except ValueError:
        limit = 20
    return jsonify(snapshot(runtime_of(current_app), failed_limit=limit))
