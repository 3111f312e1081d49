"""One user's admin page: role and groups, a reset link, two-factor reset, API tokens (revoke), and "view as"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.admin.refusals import reason
from app.context import current_user, login_required, runtime_of
from app.services import admin, admin_tokens, second_factor
from sync.permissions import can_manage_users, is_admin

bp = Blueprint("admin_user", __name__, url_prefix="/admin/users")


def _guard() -> Any:
    user = current_user()
    if not can_manage_users(user):
        abort(404)
    return user


def _render(actor: Any, user_id: int, reset_link: str | None = None) -> Any:
    with runtime_of(current_app).sessions() as db:
        try:
            target = admin.managed_user(db, actor, user_id)
            tokens = [admin_tokens.token_json(t) for t in admin_tokens.tokens_of(db, actor, user_id)]
        except admin.AdminError:
            abort(404)
        data = admin.user_json(target)
        two_factor = second_factor.is_enabled(target)
        may_reset_2fa = is_admin(actor) or not is_admin(target)
        groups = [g.name for g in admin.list_groups(db, actor) if g.organization_id == target.organization_id]
    roles = admin.grantable_roles(actor)
    if data["role"] not in roles:  # shown as it is (saving it unchanged is allowed), never silently replaced
        roles.append(data["role"])
    return render_template("admin/user.html", user=actor, target=data, tokens=tokens, roles=roles,
                           groups=groups, reset_link=reset_link, can_view_as=is_admin(actor),
                           two_factor=two_factor, may_reset_2fa=may_reset_2fa)


@bp.get("/<int:user_id>/edit")
@login_required
def show(user_id: int) -> Any:
    return _render(_guard(), user_id)


@bp.post("/<int:user_id>/edit")
@login_required
def save(user_id: int) -> Any:
    """Role and groups (an empty selection removes every group)."""
    actor = _guard()
    data: dict[str, Any] = {"groups": request.form.getlist("groups")}
    if request.form.get("role"):
        data["role"] = request.form["role"]
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            current = admin.managed_user(db, actor, user_id)
            if data.get("role") == str(current.role):
                data.pop("role")  # unchanged: also lets an admin save their own groups
            admin.update_user(db, actor, user_id, data)
    except admin.AdminError as exc:
        if exc.status == 404:
            abort(404)
        flash(_("Not saved: %(reason)s", reason=reason(exc)), "error")
    else:
        flash(_("User saved."), "ok")
    return redirect(url_for("admin_user.show", user_id=user_id))


@bp.post("/<int:user_id>/reset")
@login_required
def reset_link(user_id: int) -> Any:
    """A single-use reset link (1 hour), shown once in this answer for the admin to send."""
    actor = _guard()
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            link = admin_tokens.reset_link_token(db, actor, user_id, runtime_of(current_app).settings)
    except admin.AdminError as exc:
        if exc.status == 404:
            abort(404)
        flash(_("Not sent: %(reason)s", reason=reason(exc)), "error")
        return redirect(url_for("admin_user.show", user_id=user_id))
    return _render(actor, user_id, link)


@bp.post("/<int:user_id>/reset-2fa")
@login_required
def reset_second_factor(user_id: int) -> Any:
    """Remove the user's second factor (lost phone), after the confirmation box is ticked."""
    actor = _guard()
    if request.form.get("confirm") != "yes":
        flash(_("Tick the confirmation box to reset two-factor sign-in."), "error")
        return redirect(url_for("admin_user.show", user_id=user_id))
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            admin_tokens.reset_managed_second_factor(db, actor, user_id, "page")
    except admin.AdminError:
        abort(404)
    flash(_("Two-factor sign-in was removed and the user's sessions ended; it is set up again at the next "
            "sign-in where the role requires it."), "ok")
    return redirect(url_for("admin_user.show", user_id=user_id))


@bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@login_required
def revoke(user_id: int, token_id: int) -> Any:
    actor = _guard()
    if request.form.get("confirm") != "yes":
        flash(_("Tick the confirmation box to revoke a token."), "error")
        return redirect(url_for("admin_user.show", user_id=user_id))
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            admin_tokens.revoke_token(db, actor, user_id, token_id)
    except admin.AdminError:
        abort(404)
    flash(_("The token was revoked."), "ok")
    return redirect(url_for("admin_user.show", user_id=user_id))
