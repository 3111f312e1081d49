"""Admin JSON API for one user's access: API tokens (list, revoke), a reset link, two-factor reset, "view as".

Admins and the user's own organisation's org admins manage tokens, reset links and the second factor (an
org admin never an admin's); "view as" is for admins.
Anyone else gets 404; every change, and every "view as" read, leaves an audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from app.api.tickets import ticket_detail, ticket_page
from app.auth import api_auth_required
from app.context import current_user, runtime_of
from app.errors import json_error
from app.services import admin_tokens
from app.services.admin_input import AdminError
from app.services.invitations import RESET_HOURS
from app.services.scope import ScopeError
from sync.jobs import request_notifications
from sync.models import User

bp = Blueprint("admin_users_api", __name__, url_prefix="/api/v1/admin/users/<int:user_id>")


def _run(change: Callable[[Any], Any]) -> Any:
    """`change(db)` in one transaction (the change and its audit entry commit together), else the JSON error."""
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            return change(db)
    except AdminError as exc:
        extra = {"field": exc.field} if exc.field else {}
        return json_error(exc.status, exc.message, **extra)


@bp.get("/tokens")
@api_auth_required
def list_tokens(user_id: int):  # type: ignore[no-untyped-def]
    """The user's API tokens (names, dates, last use; never the secrets), active first."""
    answer = _run(lambda db: [admin_tokens.token_json(t) for t in admin_tokens.tokens_of(db, current_user(),
                                                                                          user_id)])
    return jsonify(items=answer) if isinstance(answer, list) else answer


@bp.post("/tokens/<int:token_id>/revoke")
@api_auth_required
def revoke_token(user_id: int, token_id: int):  # type: ignore[no-untyped-def]
    """Revoke one token at once (the next call with it answers 401); revoking twice changes nothing."""
    answer = _run(lambda db: admin_tokens.token_json(admin_tokens.revoke_token(db, current_user(), user_id,
                                                                               token_id)))
    return jsonify(answer) if isinstance(answer, dict) else answer


@bp.post("/reset-link")
@api_auth_required
def reset_link(user_id: int):  # type: ignore[no-untyped-def]
    """Mail the user a single-use password reset link; the answer carries the same link."""
    runtime = runtime_of(current_app)
    answer = _run(lambda db: admin_tokens.reset_link_token(db, current_user(), user_id, runtime.settings))
    if not isinstance(answer, str):
        return answer
    request_notifications(runtime.redis)
    return jsonify(reset_url=answer, valid_hours=RESET_HOURS), 201


@bp.post("/reset-2fa")
@api_auth_required
def reset_second_factor(user_id: int):  # type: ignore[no-untyped-def]
    """Remove the user's second factor and recovery codes (lost phone) and end their sessions (audited)."""
    answer = _run(lambda db: admin_tokens.reset_managed_second_factor(db, current_user(), user_id, "api").email)
    if not isinstance(answer, str):
        return answer
    return jsonify(user=answer, two_factor=False)


def _viewed(user_id: int) -> Any:
    return _run(lambda db: admin_tokens.view_as_target(db, current_user(), user_id, "read"))


@bp.get("/view-as/tickets")
@api_auth_required
def view_as_tickets(user_id: int):  # type: ignore[no-untyped-def]
    """Admins: the page `GET /api/v1/tickets` gives this user, with the same filters; audited."""
    viewed = _viewed(user_id)
    if not isinstance(viewed, User):
        return viewed
    try:
        return jsonify({**ticket_page(viewed, request.args), "viewed_as": viewed.email})
    except ScopeError as exc:
        return json_error(400, str(exc), field="scope")
    except ValueError as exc:
        return json_error(400, str(exc), field=str(exc).split(" ", 1)[0])


@bp.get("/view-as/tickets/<key>")
@api_auth_required
def view_as_ticket(user_id: int, key: str):  # type: ignore[no-untyped-def]
    """Admins: one ticket as this user reads it, or 404 saying that it is outside their scope; audited."""
    viewed = _viewed(user_id)
    if not isinstance(viewed, User):
        return viewed
    data = ticket_detail(viewed, key)
    if data is None:
        return json_error(404, f"{key} is not in the scope of {viewed.email}")
    return jsonify({**data, "viewed_as": viewed.email})
