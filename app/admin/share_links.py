"""/admin/share-links: every organisation's read-only link, who made it, its choices and how often it is read.

Admins only (anyone else gets 404). The maker of a link sees the same counts beside it on /summary.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, render_template

from app.context import current_user, login_required, runtime_of
from app.services.share_links import share_link_rows
from sync.permissions import is_admin

bp = Blueprint("admin_share_links", __name__, url_prefix="/admin/share-links")


@bp.get("/")
@login_required
def share_links_page() -> Any:
    """The table of links, live ones first."""
    user = current_user()
    if not is_admin(user):
        abort(404)
    with runtime_of(current_app).sessions() as db:
        rows = share_link_rows(db, datetime.now(UTC))
    return render_template("admin/share_links.html", user=user, rows=rows)
