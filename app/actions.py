"""Customer actions over the JSON API (/api/v1): create, comment, resolve/cancel/reopen, rate; outbox admin.

Each POST validates, checks the caller's scope (404 outside it) and the mapping (409 when the status
does not allow the action), records the action with its visible effect in one transaction, enqueues
the push after the commit, and answers 202 with the ticket's `sync` block.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from flask_babel import get_locale
from sqlalchemy import select

from app import runtime_of
from app.actions_core import ActionError, accept_create, accept_ticket_action
from app.auth import api_auth_required, current_user
from sync.jobs import request_push
from sync.models import OutboxAction
from sync.outbound.catalog import find_desk, request_type_fields, request_types, service_desks
from sync.outbound.outbox import OutboxConflict, action_json, retry

bp = Blueprint("actions", __name__, url_prefix="/api/v1")
TICKET_ACTIONS = ("resolve", "cancel", "reopen")


def register(app: Flask) -> None:
    """Install the actions API and the portal's action forms (called once by `create_app`)."""
    from app import portal_actions
    from app.security import csrf

    app.register_blueprint(bp)
    app.register_blueprint(portal_actions.bp)
    csrf.exempt(bp)  # bearer tokens; cookie callers must send JSON, which a cross-site form cannot


def _locale() -> str:
    return str(get_locale() or "en")


def _json_body() -> dict[str, Any]:
    if "Authorization" not in request.headers and not request.is_json:
        # A session-cookie caller must send JSON: an HTML form from another site cannot (CSRF).
        raise ActionError(415, "send the body as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ActionError(400, "the body must be a JSON object", "body")
    return body


def _answer(result: dict[str, Any], status: int = 202):  # type: ignore[no-untyped-def]
    response = jsonify(result)
    response.status_code = status
    return response


def _error(exc: ActionError):  # type: ignore[no-untyped-def]
    body: dict[str, Any] = {"error": exc.message}
    if exc.field:
        body["field"] = exc.field
    if exc.fields:
        body["fields"] = exc.fields
    return _answer(body, exc.status)


@bp.post("/tickets")
@api_auth_required
def create_ticket():  # type: ignore[no-untyped-def]
    """Raise a request in JSM on behalf of the caller (through the outbox)."""
    try:
        result = accept_create(runtime_of(current_app), current_user(), _json_body(), files=None,
                               idempotency_key=request.headers.get("Idempotency-Key"), locale=_locale())
    except ActionError as exc:
        return _error(exc)
    return _answer(result)


@bp.post("/tickets/<key>/comments")
@api_auth_required
def add_comment(key: str):  # type: ignore[no-untyped-def]
    """Add a public comment to a ticket in the caller's scope, optionally with files.

    `attachments: [{name, content_base64, mime?}]` (at most 5) need the status to allow `attach`; with
    files the body may be empty. They reach JSM through temporary uploads, the comment riding along.
    """
    return _ticket_action(key, "comment")


@bp.post("/tickets/<key>/rating")
@api_auth_required
def rate(key: str):  # type: ignore[no-untyped-def]
    """Rate the support of a resolved or closed ticket (1–5, optional comment)."""
    return _ticket_action(key, "rate")


@bp.post("/tickets/<key>/<any(resolve, cancel, reopen):action>")
@api_auth_required
def transition(key: str, action: str):  # type: ignore[no-untyped-def]
    """Resolve, cancel or reopen a ticket (optional comment)."""
    return _ticket_action(key, action)


def _ticket_action(key: str, kind: str):  # type: ignore[no-untyped-def]
    try:
        result = accept_ticket_action(runtime_of(current_app), current_user(), key, kind, _json_body(),
                                      idempotency_key=request.headers.get("Idempotency-Key"), locale=_locale())
    except ActionError as exc:
        return _error(exc)
    return _answer(result)


@bp.get("/actions/<action_uuid>")
@api_auth_required
def get_action(action_uuid: str):  # type: ignore[no-untyped-def]
    """One of the caller's submissions (admins: anyone's), e.g. to learn the key of a created request."""
    user = current_user()
    with runtime_of(current_app).sessions() as db:
        action = db.scalars(select(OutboxAction).where(OutboxAction.uuid == action_uuid)).first()
        if action is None or (action.user_id != user.id and user.role != "admin"):
            return _answer({"error": f"no action {action_uuid}"}, 404)
        return jsonify(action_json(action, _locale(), admin=user.role == "admin"))


@bp.get("/request-types")
@api_auth_required
def list_request_types():  # type: ignore[no-untyped-def]
    """Service desks and their request types (from JSM, cached); `?service_desk=` narrows, `?fields=1` adds forms."""
    runtime = runtime_of(current_app)
    refresh = request.args.get("refresh") == "1" and current_user().role == "admin"
    try:
        desks = service_desks(runtime, refresh=refresh)
        wanted = request.args.get("service_desk")
        if wanted:
            desk = find_desk(runtime, wanted)
            desks = [desk] if desk else []
        out = []
        for desk in desks:
            types = request_types(runtime, desk["id"], refresh=refresh)
            if request.args.get("fields") == "1":
                types = [{**t, "fields": request_type_fields(runtime, desk["id"], t["id"], refresh=refresh)}
                         for t in types]
            out.append({**desk, "request_types": types})
    except Exception as exc:  # JSM away and nothing cached: say so instead of a 500
        return _answer({"error": f"the request types could not be read from JSM: {exc}"}, 503)
    return jsonify(items=out)


@bp.get("/admin/outbox")
@api_auth_required
def admin_outbox():  # type: ignore[no-untyped-def]
    """Admins: outbox actions (default: failed ones), newest first, with JSM's own answers."""
    if current_user().role != "admin":
        return _answer({"error": "admin role required"}, 403)
    state = request.args.get("state", "failed")
    with runtime_of(current_app).sessions() as db:
        rows = db.scalars(select(OutboxAction).where(OutboxAction.state == state)
                          .order_by(OutboxAction.id.desc()).limit(200)).all()
        return jsonify(items=[action_json(a, _locale(), admin=True) for a in rows])


@bp.post("/admin/outbox/<int:action_id>/retry")
@api_auth_required
def admin_retry(action_id: int):  # type: ignore[no-untyped-def]
    """Admins: send a failed action again (it looks JSM up first, so nothing is done twice)."""
    if current_user().role != "admin":
        return _answer({"error": "admin role required"}, 403)
    runtime = runtime_of(current_app)
    try:
        with runtime.sessions() as db, db.begin():
            action = retry(db, action_id)
            if action is None:
                return _answer({"error": f"no outbox action {action_id}"}, 404)
            data = action_json(action, _locale(), admin=True)
    except OutboxConflict as exc:
        return _answer({"error": str(exc)}, 409)
    request_push(runtime.redis, action_id)
    return _answer(data)
