"""Admin JSON API (/api/v1/admin): sync health, the outbox (retry), share links; 404 for non-admins."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from app.auth import admin_required
from app.context import current_user, locale_code, runtime_of
from app.errors import json_error
from app.services.admin import AdminError
from app.services.operations import retry_action, retry_event
from app.services.serializers import action_json, iso
from app.services.share_links import share_link_rows
from sync.inbound.health import snapshot
from sync.jobs import request_inbox_drain, request_push
from sync.models import OutboxAction, OutboxState
from sync.scheduler import scheduler_status

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin")
MAX_FAILED = 200


@bp.get("/sync")
@admin_required
def sync_health():  # type: ignore[no-untyped-def]
    """Per-project lag and last event, inbox backlog by state, latest failed events, JSM calls, watermarks."""
    try:
        limit = max(0, min(int(request.args.get("failed", 20)), MAX_FAILED))
    except ValueError:
        limit = 20
    runtime = runtime_of(current_app)
    try:
        connection = runtime.redis
    except Exception:  # an embedded Redis that cannot start: the leader is unknown, the rest still shows
        connection = None
    return jsonify({**snapshot(runtime, failed_limit=limit), "scheduler": scheduler_status(connection)})


@bp.get("/share-links")
@admin_required
def share_links():  # type: ignore[no-untyped-def]
    """Every organisation's read-only link: maker, dates, language, subjects, reads and last read."""
    with runtime_of(current_app).sessions() as db:
        rows = share_link_rows(db, datetime.now(UTC))
    return jsonify(items=[{**row, **{k: iso(row[k]) for k in ("created", "expires", "last_read")}} for row in rows])


@bp.get("/outbox")
@admin_required
def admin_outbox():  # type: ignore[no-untyped-def]
    """Outbox actions (default: failed ones), newest first, with JSM's own answers."""
    state = request.args.get("state", OutboxState.FAILED)
    with runtime_of(current_app).sessions() as db:
        rows = db.scalars(select(OutboxAction).where(OutboxAction.state == state)
                          .order_by(OutboxAction.id.desc()).limit(200)).all()
        return jsonify(items=[action_json(a, locale_code(), admin=True) for a in rows])


@bp.post("/outbox/<int:action_id>/retry")
@admin_required
def admin_retry(action_id: int):  # type: ignore[no-untyped-def]
    """Send a failed action again (it looks JSM up first, so nothing is done twice); audited."""
    runtime = runtime_of(current_app)
    try:
        with runtime.sessions() as db, db.begin():
            action = retry_action(db, current_user(), action_id)
            data = action_json(action, locale_code(), admin=True)
    except AdminError as exc:
        return json_error(exc.status, exc.message)
    request_push(runtime.redis, action_id)
    return jsonify(data), 202


@bp.post("/sync/events/<int:event_id>/retry")
@admin_required
def admin_retry_event(event_id: int):  # type: ignore[no-untyped-def]
    """Apply a failed webhook delivery again at the next drain; audited."""
    runtime = runtime_of(current_app)
    try:
        with runtime.sessions() as db, db.begin():
            event = retry_event(db, current_user(), event_id)
            data = {"id": event.id, "delivery_id": event.delivery_id, "state": str(event.state)}
    except AdminError as exc:
        return json_error(exc.status, exc.message)
    request_inbox_drain(runtime.redis)
    return jsonify(data), 202
