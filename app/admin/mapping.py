"""Admin pages: the mapping editor (an editable rule table with preview and publish)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template

from app.context import current_user, locale_code, login_required, runtime_of
from sync import mapping_store
from sync.permissions import is_admin
from sync.projection.unmapped import unmapped_report

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")


@bp.get("/mapping")
@login_required
def mapping_page() -> Any:
    """The mapping editor; the table is filled and posted by admin_mapping.js through the mapping API."""
    user = current_user()
    if not is_admin(user):
        abort(404)
    runtime = runtime_of(current_app)
    mapping = runtime.mapping
    locale = locale_code()
    return render_template(
        "admin/mapping.html", user=user, document=mapping.to_dict(),
        statuses=[(s.key, s.label(locale), s.bucket) for s in mapping.statuses],
        priorities=[(p.key, p.label(locale)) for p in mapping.priorities],
        unmapped=unmapped_report(runtime), version=mapping_store.active_version(runtime),
        versions=mapping_store.list_versions(runtime)[:20])
