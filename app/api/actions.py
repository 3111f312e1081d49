"""Customer actions over the JSON API (/api/v1): create, comment, resolve/cancel/reopen, rate, their state.

Each POST validates, checks the caller's scope (404 outside it) and the mapping (409 when the status
does not allow the action), records the action with its visible effect in one transaction, enqueues
the push after the commit, and answers 202 with the ticket's `sync` block.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from app.auth import api_auth_required
from app.context import current_user, locale_code, runtime_of
from app.errors import json_error
from app.services.actions import ActionError, accept_create, accept_ticket_action
from app.services.scope import can_create
from app.services.serializers import action_json
from sync.models import OutboxAction
from sync.outbound.catalog import find_desk, request_type_fields, request_types, service_desks
from sync.permissions import is_admin

bp = Blueprint("actions", __name__, url_prefix="/api/v1")


def _json_body() -> dict[str, Any]:
    if "Authorization" not in request.headers and not request.is_json:
        # A session-cookie caller must send JSON: an HTML form from another site cannot (CSRF).
        raise ActionError(415, "send the body as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ActionError(400, "the body must be a JSON object", "body")
    return body


def _accepted(result: dict[str, Any]):  # type: ignore[no-untyped-def]
    return jsonify(result), 202


def _error(exc: ActionError):  # type: ignore[no-untyped-def]
    extra: dict[str, Any] = {}
    if exc.field:
        extra["field"] = exc.field
    if exc.fields:
        extra["fields"] = exc.fields
    return json_error(exc.status, exc.message, **extra)


@bp.post("/tickets")
@api_auth_required
def create_ticket():  # type: ignore[no-untyped-def]
    """Raise a request in JSM on behalf of the caller (through the outbox)."""
    try:
        result = accept_create(runtime_of(current_app), current_user(), _json_body(), files=None,
                               idempotency_key=request.headers.get("Idempotency-Key"), locale=locale_code())
    except ActionError as exc:
        return _error(exc)
    return _accepted(result)


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
                                      idempotency_key=request.headers.get("Idempotency-Key"), locale=locale_code())
    except ActionError as exc:
        return _error(exc)
    return _accepted(result)


@bp.get("/actions/<action_uuid>")
@api_auth_required
def get_action(action_uuid: str):  # type: ignore[no-untyped-def]
    """One of the caller's submissions (admins: anyone's), e.g. to learn the key of a created request."""
    user = current_user()
    with runtime_of(current_app).sessions() as db:
        action = db.scalars(select(OutboxAction).where(OutboxAction.uuid == action_uuid)).first()
        if action is None or (action.user_id != user.id and not is_admin(user)):
            return json_error(404, f"no action {action_uuid}")
        return jsonify(action_json(action, locale_code(), admin=is_admin(user)))


@bp.get("/request-types")
@api_auth_required
def list_request_types():  # type: ignore[no-untyped-def]
    """Service desks and their request types (from JSM, cached); `?service_desk=` narrows, `?fields=1` adds forms."""
    runtime = runtime_of(current_app)
    user = current_user()
    refresh = request.args.get("refresh") == "1" and is_admin(user)
    if not can_create(user):
        # Desks are where one opens requests: a view-only role has none to use.
        return jsonify(items=[])
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
        return json_error(503, f"the request types could not be read from JSM: {exc}")
    return jsonify(items=out)
