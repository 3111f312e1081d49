"""'View as': an admin sees the portal exactly as a chosen user sees it, read-only, bannered and audited.

While it lasts, `current_user()` is the viewed user, so every page runs the same scope rule it runs for
them and shows the same buttons (that is how "why can't Ann comment on SUP-12" is answered). Every write
is refused here, before any view runs, with 403 (the request is understood and authenticated, but this
session may not change anything), so nothing is changed; the refusal page keeps the banner, says what was
refused and how to act as yourself, and the attempt is audited. Only "End view as" and "Sign out" pass.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app.context import VIEW_AS_KEY, current_user, login_required, runtime_of, viewing_admin
from app.errors import json_error
from app.services.admin_input import AdminError
from app.services.admin_tokens import view_as_target
from app.services.audit import record
from sync.models import User
from sync.permissions import is_admin

bp = Blueprint("view_as", __name__)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ALWAYS_ALLOWED = ("view_as.stop", "portal.logout")  # ending the view, or the whole session, is never a write


@bp.before_app_request
def _read_only() -> Any:
    if request.method in SAFE_METHODS or request.endpoint in ALWAYS_ALLOWED or not session.get(VIEW_AS_KEY):
        return None
    admin_user = viewing_admin()
    if admin_user is None:
        return None
    viewed = current_user()
    with runtime_of(current_app).sessions() as db, db.begin():
        record(db, admin_user, "view_as.refused", f"user {viewed.email}", viewed.organization_id,
               {"method": request.method, "path": request.path[:200]})
    if request.path.startswith("/api/"):
        return json_error(403, "read-only: you are viewing the portal as another user; nothing was changed")
    referrer = request.referrer or ""
    back = referrer if referrer.startswith(request.host_url) else None  # only a link back into this site
    return render_template("view_as_refused.html", user=viewed, back=back), 403


@bp.app_context_processor
def _banner() -> dict[str, Any]:
    return {"viewing_admin": viewing_admin() if session.get(VIEW_AS_KEY) else None}


@bp.post("/admin/users/<int:user_id>/view-as")
@login_required
def start(user_id: int) -> Any:
    actor = current_user()
    if not is_admin(actor) or viewing_admin() is not None:
        abort(404)
    try:
        with runtime_of(current_app).sessions() as db, db.begin():
            view_as_target(db, actor, user_id, "start")
    except AdminError as exc:
        if exc.status == 404:
            abort(404)
        flash(_("Only another active user can be viewed."), "error")
        return redirect(url_for("admin_user.show", user_id=user_id))
    session[VIEW_AS_KEY] = user_id
    return redirect(url_for("portal.index"))


@bp.post("/view-as/stop")
def stop() -> Any:
    admin_user = viewing_admin()  # read before the flag goes: it names who was viewing
    viewed_id = session.pop(VIEW_AS_KEY, None)
    if admin_user is not None and viewed_id is not None:
        with runtime_of(current_app).sessions() as db, db.begin():
            viewed = db.get(User, viewed_id)
            record(db, admin_user, "view_as.stop", f"user {viewed.email if viewed else viewed_id}",
                   viewed.organization_id if viewed else None, {})
        return redirect(url_for("admin_user.show", user_id=viewed_id))
    return redirect(url_for("portal.index"))
