"""/summary/report?month=YYYY-MM: the organisation's monthly report as a printable page.

The same figures the monthly mail carries (`sync.reports.figures`), read in the reader's time zone; print CSS
makes the browser's "Save as PDF" a clean document. Org admins and viewers read their own organisation's;
admins pick one with `?org=<slug>`; anyone else gets 404. Without `month`, the month that just ended.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from app.context import current_user, login_required, runtime_of, user_zone
from app.portal.formatting import fmt_day
from app.portal.summary_svg import history_svg
from sync.models import Organization
from sync.permissions import is_admin
from sync.reports.figures import Month, month_figures
from sync.scope import scopes_for

bp = Blueprint("portal_report", __name__)


def _organisation(db: Any) -> Organization | None:
    user = current_user()
    if is_admin(user):
        slug = request.args.get("org")
        return db.scalars(select(Organization).where(Organization.slug == slug)).first() if slug else None
    if user is None or "org" not in scopes_for(user) or user.organization_id is None:
        return None
    return db.get(Organization, user.organization_id)


@bp.get("/summary/report")
@login_required
def report_page() -> Any:
    """The report of one month for the reader's organisation."""
    user = current_user()
    zone = user_zone(user)
    now = datetime.now(UTC)
    raw = request.args.get("month")
    try:
        month = Month.parse(raw) if raw else Month.of(now.astimezone(zone).date()).previous()
    except ValueError as error:
        abort(400, description=f"month: {error}")
    runtime = runtime_of(current_app)
    with runtime.sessions() as db:
        org = _organisation(db)
        if org is None:
            abort(404)
        figures = month_figures(db, runtime.mapping, org.id, month, zone, now)
        org_name = org.name
    return render_template("report.html", user=user, f=figures, month=month, org_name=org_name,
                           chart=history_svg(figures["history"], fmt_day),
                           previous=month.previous(), following=month.next(),
                           first_day=month.first_day, last_day=month.last_day)
