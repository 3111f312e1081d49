"""Admin pages for operations: sync health (with retries of failed events) and the outbox of customer actions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.admin.refusals import reason
from app.context import current_user, locale_code, login_required, runtime_of
from app.services import admin, operations
from app.services.serializers import action_json
from sync.inbound.health import snapshot
from sync.jobs import request_inbox_drain, request_push
from sync.models import OutboxAction, OutboxState
from sync.permissions import is_admin
from sync.projection.unmapped import unmapped_report
from sync.scheduler import scheduler_status

bp = Blueprint("admin_ops", __name__, url_prefix="/admin")
OUTBOX_STATES = [s.value for s in OutboxState]


def _admin() -> Any:
    user = current_user()
    if not is_admin(user):
        abort(404)
    return user


def _redis_or_none() -> Any:
    try:
        return runtime_of(current_app).redis
    except Exception:  # an embedded Redis that cannot start: the page still shows the database's part
        return None


def _retry(change: Any, ok: str) -> bool:
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            change(db)
    except admin.AdminError as exc:
        if exc.status == 404:
            abort(404)
        flash(_("Not retried: %(reason)s", reason=reason(exc)), "error")
        return False
    flash(ok, "ok")
    return True


@bp.get("/sync")
@login_required
def sync_health() -> Any:
    user = _admin()
    runtime = runtime_of(current_app)
    health = {**snapshot(runtime, failed_limit=50), "scheduler": scheduler_status(_redis_or_none())}
    return render_template("admin/sync.html", user=user, health=health, unmapped=unmapped_report(runtime))


@bp.post("/sync/events/<int:event_id>/retry")
@login_required
def retry_event(event_id: int) -> Any:
    user = _admin()
    if _retry(lambda db: operations.retry_event(db, user, event_id), _("The event will be applied again.")):
        connection = _redis_or_none()
        if connection is not None:
            request_inbox_drain(connection)
    return redirect(url_for("admin_ops.sync_health"))


@bp.get("/outbox")
@login_required
def outbox() -> Any:
    user = _admin()
    state = request.args.get("state", OutboxState.FAILED.value)
    if state not in OUTBOX_STATES:
        state = OutboxState.FAILED.value
    with runtime_of(current_app).sessions() as db:
        rows = db.scalars(select(OutboxAction).where(OutboxAction.state == state)
                          .order_by(OutboxAction.id.desc()).limit(200)).all()
        actions = [action_json(a, locale_code(), admin=True) for a in rows]
    return render_template("admin/outbox.html", user=user, actions=actions, state=state, states=OUTBOX_STATES)


@bp.post("/outbox/<int:action_id>/retry")
@login_required
def retry_action(action_id: int) -> Any:
    user = _admin()
    if _retry(lambda db: operations.retry_action(db, user, action_id), _("The action will be sent again.")):
        connection = _redis_or_none()
        if connection is not None:
            request_push(connection, action_id)
    return redirect(url_for("admin_ops.outbox"))
