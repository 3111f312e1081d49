"""Admin JSON API for accounts: organisations, users (invite, change, deactivate), groups, roles, audit.

Admins reach all of it; org admins reach their own organisation's users, groups and audit entries. Anything
else answers 404, bad input 400 naming the field, and every change leaves an audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from app.auth import api_auth_required
from app.context import current_user, runtime_of
from app.errors import json_error
from app.services import admin
from app.services.audit import entries_for, entry_json
from app.services.invitations import send_link
from sync.jobs import request_notifications
from sync.permissions import can_manage_users

bp = Blueprint("admin_accounts_api", __name__, url_prefix="/api/v1/admin")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise admin.AdminError(400, "the body must be a JSON object", "body")
    return data


def _run(change: Callable[[Any], Any], status: int = 200) -> Any:
    """Run `change(db)` in one transaction; AdminError becomes the JSON error it describes."""
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            return jsonify(change(db)), status
    except admin.AdminError as exc:
        extra = {"field": exc.field} if exc.field else {}
        return json_error(exc.status, exc.message, **extra)


@bp.get("/organizations")
@api_auth_required
def list_organizations():  # type: ignore[no-untyped-def]
    """Organisations with member and request counts (admins)."""
    return _run(lambda db: {"items": [admin.org_json(db, o) for o in admin.list_orgs(db, current_user())]})


@bp.post("/organizations")
@api_auth_required
def create_organization():  # type: ignore[no-untyped-def]
    """Create an organisation `{"slug","name","jira_org_id"?}` (admins)."""
    return _run(lambda db: admin.org_json(db, admin.add_org(db, current_user(), _body())), 201)


@bp.patch("/organizations/<int:org_id>")
@api_auth_required
def update_organization(org_id: int):  # type: ignore[no-untyped-def]
    """Rename an organisation or link it to a JSM organisation `{"name"?, "jira_org_id"?}` (admins)."""
    return _run(lambda db: admin.org_json(db, admin.update_org(db, current_user(), org_id, _body())))


@bp.get("/users")
@api_auth_required
def list_users():  # type: ignore[no-untyped-def]
    """Users (admins: all, `?organization=` narrows; org admins: their organisation's)."""
    org = request.args.get("organization")
    return _run(lambda db: {"items": [admin.user_json(u) for u in admin.list_users(db, current_user(), org)]})


@bp.post("/users")
@api_auth_required
def invite_user():  # type: ignore[no-untyped-def]
    """Invite a user `{"email","name"?,"role"?,"organization"?,"groups"?,"roles"?}`: the invitation mail goes
    out through the notification outbox (once); the answer carries the same link."""
    runtime = runtime_of(current_app)

    def change(db: Any) -> dict[str, Any]:
        user = admin.invite(db, current_user(), _body())
        url, _mail = send_link(db, runtime.settings, user, "invite")
        return {**admin.user_json(user), "invitation_url": url}

    answer = _run(change, 201)
    if isinstance(answer, tuple):  # invited (an error is a bare response)
        request_notifications(runtime.redis)
    return answer


@bp.patch("/users/<int:user_id>")
@api_auth_required
def update_user(user_id: int):  # type: ignore[no-untyped-def]
    """Change `{"active","role","organization","groups","roles","name"}`; `active: false` ends sessions and tokens."""
    return _run(lambda db: admin.user_json(admin.update_user(db, current_user(), user_id, _body())))


@bp.get("/groups")
@api_auth_required
def list_groups():  # type: ignore[no-untyped-def]
    """Groups with their roles and members (org admins: their organisation's)."""
    return _run(lambda db: {"items": [admin.group_json(g) for g in admin.list_groups(db, current_user())]})


@bp.post("/groups")
@api_auth_required
def create_group():  # type: ignore[no-untyped-def]
    """Create a group `{"name","organization"?,"roles"?}`; its members inherit the roles."""
    return _run(lambda db: admin.group_json(admin.add_group(db, current_user(), _body())), 201)


@bp.get("/roles")
@api_auth_required
def list_roles():  # type: ignore[no-untyped-def]
    """Every role with its permissions (built-in first)."""
    if not can_manage_users(current_user()):
        return json_error(404, "not found")
    return _run(lambda db: {"items": [admin.role_json(r) for r in admin.all_roles(db)]})


@bp.post("/roles")
@api_auth_required
def create_role():  # type: ignore[no-untyped-def]
    """Define a role `{"name","label"?,"permissions":[...],"leading"?}` (admins)."""
    return _run(lambda db: admin.role_json(admin.defined_spec(admin.create_role(db, current_user(), _body()))), 201)


@bp.get("/audit")
@api_auth_required
def audit_log():  # type: ignore[no-untyped-def]
    """Who changed what, when, newest first (`?limit=`, `?action=` prefix); org admins: their organisation."""
    user = current_user()
    if not can_manage_users(user):
        return json_error(404, "not found")
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        return json_error(400, "'limit' must be an integer", field="limit")
    return _run(lambda db: {"items": [entry_json(e) for e in entries_for(db, user, limit,
                                                                         request.args.get("action"))]})
