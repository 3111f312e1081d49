"""The summary dashboard (/summary), its shareable read-only link (/s/<token>) and link management."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_translations
from flask_babel import gettext as _
from sqlalchemy import select

from app.context import current_user, locale_code, login_required, runtime_of, user_zone
from app.portal.formatting import as_datetime, fmt_day
from app.portal.summary_svg import history_svg
from app.services.accounts import hash_token
from app.services.audit import record
from app.services.scope import ScopeError, scopes_for
from app.services.share_links import SHARE_LOCALES, find_link, record_access
from app.services.summary import build_summary, summary_scope
from app.services.summary_cache import RECHECK_SECONDS, reader_summary
from sync.models import Organization, User
from sync.permissions import Permission, has, is_admin
from sync.scope import organisation_tickets, spans_every_organisation

bp = Blueprint("portal_summary", __name__)
ORG_CHOICES = 200


def _render(data: dict[str, Any], **context: Any) -> str:
    chart = history_svg(data["history"], fmt_day)
    now = datetime.now(UTC)
    synced = as_datetime(data["last_synced"])
    ago = max(0.0, (now - synced).total_seconds()) if synced else None
    # A kept summary (`app.services.summary_cache`) says when it was counted.
    counted = as_datetime(data.get("counted_at"))
    counted_ago = max(0.0, (now - counted).total_seconds()) if counted else None
    return render_template("summary.html", s=data, chart=chart, synced_ago=ago, counted_ago=counted_ago, **context)


def _share_org(db: Any, user: User) -> Organization | None:
    # Admins have no organisation of their own and pick one; everyone else manages only their own.
    if not has(user, Permission.SHARE_SUMMARY):
        return None
    if is_admin(user):
        slug = request.form.get("org") or request.args.get("org")
        return db.scalars(select(Organization).where(Organization.slug == slug)).first() if slug else None
    return db.get(Organization, user.organization_id) if user.organization_id else None


@bp.get("/summary")
@login_required
def summary_page() -> Any:
    """Dashboard of the signed-in user's scope."""
    return _summary_response(current_user())


def _summary_response(user: User, new_link: str | None = None) -> Any:
    # A new share link is rendered into this one response only, never kept in the session cookie.
    runtime = runtime_of(current_app)
    try:
        scope = summary_scope(user, request.args.get("scope"))
    except ScopeError:
        return redirect(url_for("portal_summary.summary_page"))
    with runtime.sessions() as db:
        data = reader_summary(db, runtime, user, scope, locale_code(), user_zone(user), get_translations())
        orgs: list[Organization] = []
        linked: list[Organization] = []
        share_org = None
        if is_admin(user):
            # A choice of a few hundred organisations at most; beyond, the organisation is typed by its slug
            # (ten thousand options cost more to load and render than the whole summary).
            orgs = list(db.scalars(select(Organization).order_by(Organization.name).limit(ORG_CHOICES + 1)))
            linked = list(db.scalars(select(Organization).where(Organization.share_token_hash.is_not(None))
                                     .order_by(Organization.name)))
        elif has(user, Permission.SHARE_SUMMARY) and user.organization_id:
            # Loaded with the user a moment ago (User.organization is joined); read again after a change.
            share_org = (user.organization if user.organization is not None and new_link is None
                         else db.get(Organization, user.organization_id))
    if data.get("counting"):
        # The first count of a big scope's summary runs on a worker: this page looks again.
        return render_template("summary_counting.html", user=user, scope=scope, scopes=scopes_for(user),
                               recheck=RECHECK_SECONDS, every_org=spans_every_organisation(user, scope))
    portal = runtime.settings.portal
    return _render(data, user=user, scope=scope, scopes=scopes_for(user), shared=False, orgs=orgs, linked=linked,
                   org_choices=ORG_CHOICES, every_org=spans_every_organisation(user, scope),
                   share_org=share_org, can_share=has(user, Permission.SHARE_SUMMARY), new_link=new_link,
                   share_days=portal.share_link_days, share_max_days=portal.share_link_max_days,
                   current_locale=locale_code(),
                   has_report="org" in scopes_for(user) and user.organization_id is not None)


@bp.post("/summary/share")
def create_share() -> Any:
    """Create (or replace) the organisation's share link; the plain token is shown once."""
    user = current_user()
    if user is None:
        abort(404)
    portal = runtime_of(current_app).settings.portal
    raw_days = (request.form.get("days") or str(portal.share_link_days)).strip()
    if not raw_days.isdigit() or not 1 <= int(raw_days) <= portal.share_link_max_days:
        flash(_("The link's lifetime must be a whole number of days from 1 to %(max)d.",
                max=portal.share_link_max_days), "error")
        return _summary_response(user)
    language = request.form.get("locale") or locale_code()
    if language not in SHARE_LOCALES:
        flash(_("Choose one of the offered languages."), "error")
        return _summary_response(user)
    with_subjects = request.form.get("with_subjects") == "1"
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with runtime_of(current_app).sessions() as db, db.begin():
        org = _share_org(db, user)
        if org is None:
            abort(404)
        org.share_token_hash = hash_token(token)
        org.share_expires_at = now + timedelta(days=int(raw_days))
        org.share_created_by_id, org.share_created_at = user.id, now
        org.share_locale, org.share_with_subjects = language, with_subjects
        org.share_access_count, org.share_last_access_at = 0, None  # a new link starts its own count
        name = org.name
        record(db, user, "share_link.create", f"organization {org.slug}", org.id,
               {"locale": language, "with_subjects": with_subjects, "days": int(raw_days)})
    flash(_("A new read-only link for %(org)s was created. Any older link no longer works.", org=name), "ok")
    return _summary_response(user, url_for("portal_summary.shared_summary", token=token, _external=True))


@bp.post("/summary/share/revoke")
def revoke_share() -> Any:
    """Revoke the organisation's share link."""
    user = current_user()
    if user is None:
        abort(404)
    with runtime_of(current_app).sessions() as db, db.begin():
        org = _share_org(db, user)
        if org is None:
            abort(404)
        org.share_token_hash = None
        org.share_expires_at = None
        name = org.name
        record(db, user, "share_link.revoke", f"organization {org.slug}", org.id, {})
    flash(_("The read-only link for %(org)s was revoked.", org=name), "ok")
    return redirect(url_for("portal_summary.summary_page"))


@bp.get("/s/<token>")
def shared_summary(token: str) -> Any:
    """Read-only summary of one organisation for holders of its link; subjects only if the link was made with them."""
    runtime = runtime_of(current_app)
    now = datetime.now(UTC)
    with runtime.sessions() as db:
        org = find_link(db, token, now)
        if org is None:
            abort(404)
        data = build_summary(db, organisation_tickets(org.id), runtime.mapping, locale_code(), user_zone(None),
                             with_subjects=org.share_with_subjects, translations=get_translations())
        org_name, org_id = org.name, org.id
    record_access(runtime.sessions, org_id, now)
    response = current_app.make_response(_render(data, user=None, scope="org", scopes=(), shared=True,
                                                 org_name=org_name, orgs=[], linked=[], org_choices=0,
                                                 share_org=None, can_share=False,
                                                 new_link=None, share_days=0, share_max_days=0,
                                                 current_locale=locale_code(), has_report=False))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    return response
