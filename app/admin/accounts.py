"""Admin pages for accounts: organisations, users, groups, roles and the audit log (forms post here, CSRF-checked).

Org admins reach the users, groups and audit pages of their own organisation; everything else answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.admin.refusals import reason
from app.context import current_user, login_required, runtime_of
from app.services import admin
from app.services.audit import entries_for
from app.services.invitations import send_link
from sync.jobs import request_notifications
from sync.permissions import PERMISSIONS, can_manage_users, is_admin

bp = Blueprint("admin_accounts", __name__, url_prefix="/admin")


@bp.app_context_processor
def _admin_nav() -> dict[str, Any]:
    # The header's "Administration" link: shown to whoever may manage users; the admin-only pages to admins.
    user = current_user()
    return {"show_admin_link": can_manage_users(user), "full_admin": is_admin(user)}


def _guard() -> Any:
    user = current_user()
    if not can_manage_users(user):
        abort(404)
    return user


def _apply(change: Any, ok: str, target: str) -> Any:
    """Run a change; a refusal is flashed (the field it names is in the message) and nothing is lost."""
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            result = change(db)
    except admin.AdminError as exc:
        if exc.status == 404:
            abort(404)
        flash(_("Not saved: %(reason)s", reason=reason(exc)), "error")
        return None
    flash(ok, "ok")
    return result if result is not None else True


def _form_list(name: str) -> list[str]:
    return [v.strip() for v in request.form.get(name, "").split(",") if v.strip()]


@bp.get("/")
@login_required
def index() -> Any:
    _guard()
    return redirect(url_for("admin_accounts.users" if not is_admin(current_user()) else "admin_accounts.organizations"))


@bp.route("/organizations", methods=["GET", "POST"])
@login_required
def organizations() -> Any:
    user = current_user()
    if not is_admin(user):
        abort(404)
    if request.method == "POST":
        org_id = request.form.get("id", "")
        data = {"name": request.form.get("name", ""), "jira_org_id": request.form.get("jira_org_id") or None}
        if org_id and not org_id.isdigit():
            abort(404)
        if org_id:
            _apply(lambda db: admin.update_org(db, user, int(org_id), data), _("Organisation saved."), "")
        else:
            _apply(lambda db: admin.add_org(db, user, {**data, "slug": request.form.get("slug", "")}),
                   _("Organisation created."), "")
        return redirect(url_for("admin_accounts.organizations"))
    with runtime_of(current_app).sessions() as db:
        orgs = [admin.org_json(db, o) for o in admin.list_orgs(db, user)]
    return render_template("admin/organizations.html", user=user, orgs=orgs)


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users() -> Any:
    user = _guard()
    invitation = None
    if request.method == "POST":
        data = {"email": request.form.get("email", ""), "name": request.form.get("name", ""),
                "role": request.form.get("role") or "customer",
                "organization": request.form.get("organization") or None, "groups": _form_list("groups")}

        def change(db: Any) -> str:
            invited = admin.invite(db, user, data)
            return send_link(db, runtime_of(current_app).settings, invited, "invite")[0]

        invitation = _apply(change, _("Invitation created."), "")
        if isinstance(invitation, str):
            request_notifications(runtime_of(current_app).redis)
        if invitation is None:
            return redirect(url_for("admin_accounts.users"))
    with runtime_of(current_app).sessions() as db:
        rows = [admin.user_json(u) for u in admin.list_users(db, user, request.args.get("org"))]
        orgs = [o.slug for o in admin.list_orgs(db, user)] if is_admin(user) else []
    return render_template("admin/users.html", user=user, users=rows, roles=admin.grantable_roles(user), orgs=orgs,
                           invitation=invitation if isinstance(invitation, str) else None)


@bp.post("/users/<int:user_id>")
@login_required
def update_user(user_id: int) -> Any:
    user = _guard()
    data: dict[str, Any] = {}
    if "active" in request.form:
        if request.form["active"] == "0" and request.form.get("confirm") != "yes":
            flash(_("Tick the confirmation box to deactivate a user."), "error")
            return redirect(url_for("admin_accounts.users"))
        data["active"] = request.form["active"] == "1"
    for name in ("role", "organization"):
        if request.form.get(name):
            data[name] = request.form[name]
    if "groups" in request.form:
        data["groups"] = _form_list("groups")
    _apply(lambda db: admin.update_user(db, user, user_id, data), _("User saved."), "")
    return redirect(url_for("admin_accounts.users"))


@bp.route("/groups", methods=["GET", "POST"])
@login_required
def groups() -> Any:
    user = _guard()
    if request.method == "POST":
        data = {"name": request.form.get("name", ""), "organization": request.form.get("organization") or None,
                "roles": _form_list("roles")}
        _apply(lambda db: admin.add_group(db, user, data), _("Group created."), "")
        return redirect(url_for("admin_accounts.groups"))
    with runtime_of(current_app).sessions() as db:
        rows = [admin.group_json(g) for g in admin.list_groups(db, user)]
    return render_template("admin/groups.html", user=user, groups=rows)


@bp.route("/roles", methods=["GET", "POST"])
@login_required
def roles() -> Any:
    user = _guard()
    if request.method == "POST":
        data = {"name": request.form.get("name", ""), "label": request.form.get("label", ""),
                "permissions": request.form.getlist("permissions"), "leading": request.form.get("leading") == "1"}
        _apply(lambda db: admin.create_role(db, user, data), _("Role created."), "")
        return redirect(url_for("admin_accounts.roles"))
    with runtime_of(current_app).sessions() as db:
        rows = [admin.role_json(r) for r in admin.all_roles(db)]
    return render_template("admin/roles.html", user=user, roles=rows, permissions=PERMISSIONS,
                           can_define=is_admin(user))


@bp.get("/audit")
@login_required
def audit() -> Any:
    user = _guard()
    with runtime_of(current_app).sessions() as db:
        rows = entries_for(db, user, 200, request.args.get("action"))
        entries = [{"at": e.at, "actor": e.actor_email, "action": e.action, "target": e.target,
                    "details": e.details} for e in rows]
    return render_template("admin/audit.html", user=user, entries=entries)
