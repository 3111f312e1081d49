"""What a share link serves besides its page: an Atom feed, a badge, a JSON summary and an embeddable card.

All under the link's token, in the link's language, with the link's read-only scope (counts and keys; subjects
only on a link made with them). A wrong, revoked or expired token answers 404 on every path. Nothing here
reads or sets a cookie: a feed reader, a wiki or an intranet page has none of ours. What is fetched every
minute (badge, JSON, card) reads the headline and counts alone (`build_overview`), not the whole summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_datetime
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, url_for
from flask_babel import force_locale, get_translations, ngettext
from flask_babel import gettext as _

from app.context import runtime_of
from app.security import EMBEDDABLE_CSP
from app.services.badge import badge_svg
from app.services.share_feed import atom_feed, customer_changes
from app.services.share_links import find_link, link_locale, record_access
from app.services.summary import build_overview
from sync.scope import organisation_tickets

bp = Blueprint("share_public", __name__)

WAITING_KINDS = ("awaiting_customer", "awaiting_requester")
BADGE_MAX_AGE = 60  # shields.io caches badges for a few minutes; a minute keeps "3 open" close to true
CARD_REFRESH_SECONDS = 60


@dataclass(frozen=True)
class Shared:
    """One read of a live link: the organisation, the link's choices, and either the headline and counts
    (`summary`, from `build_overview`) or the customer-visible changes (`changes`) in its language."""

    token: str
    org_name: str
    locale: str
    with_subjects: bool
    now: datetime
    summary: dict[str, Any]
    changes: list[dict[str, Any]]


def _read(token: str, *, changes: bool = False) -> Shared:
    runtime = runtime_of(current_app)
    now = datetime.now(UTC)
    with runtime.sessions() as db:
        org = find_link(db, token, now)
        if org is None:
            abort(404)
        locale = link_locale(org, runtime.settings.portal.default_locale)
        scope = organisation_tickets(org.id)
        with force_locale(locale):
            if changes:
                summary, feed = {}, customer_changes(db, scope, runtime.mapping, locale, _("Opened"),
                                                     with_subjects=org.share_with_subjects)
            else:
                summary, feed = build_overview(db, scope, runtime.mapping, locale, now=now,
                                               translations=get_translations()), []
        shared = Shared(token, org.name, locale, org.share_with_subjects, now, summary, feed)
        org_id = org.id
    record_access(runtime.sessions, org_id, now)
    return shared


def _public(response: Response, max_age: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # A wiki or a chat tool fetches these from its own origin; the token is the only credential.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.discard("Cookie")
    return response


def _waiting(summary: dict[str, Any]) -> int:
    return sum(item["count"] for item in summary["headline_items"] if item["kind"] in WAITING_KINDS)


@bp.get("/s/<token>/feed.atom")
def feed(token: str) -> Response:
    """Atom feed of the organisation's customer-visible changes (opened, waiting, resolved, closed)."""
    shared = _read(token, changes=True)
    with force_locale(shared.locale):
        title = _("Support summary: %(org)s", org=shared.org_name)
    body = atom_feed(shared.changes, title=title, author=shared.org_name, locale=shared.locale,
                     self_url=url_for("share_public.feed", token=token, _external=True),
                     page_url=url_for("portal_summary.shared_summary", token=token, _external=True),
                     updated=shared.now)
    return _public(Response(body, mimetype="application/atom+xml"), 300)


@bp.get("/s/<token>/badge.svg")
def badge(token: str) -> Response:
    """A shields-style badge: "3 open · 1 waiting"."""
    shared = _read(token)
    open_count = shared.summary["counts"]["bucket"].get("open", 0)
    waiting = _waiting(shared.summary)
    with force_locale(shared.locale):
        label = _("requests")
        if open_count:
            message = ngettext("%(num)d open", "%(num)d open", open_count)
            if waiting:
                message += " · " + ngettext("%(num)d waiting", "%(num)d waiting", waiting)
        else:
            message = _("none open")
    level = "attention" if waiting else "open" if open_count else "none"
    return _public(Response(badge_svg(label, message, level), mimetype="image/svg+xml"), BADGE_MAX_AGE)


@bp.get("/s/<token>/summary.json")
def summary_json(token: str) -> Response:
    """The headline and counts, for a script on another page."""
    shared = _read(token)
    s = shared.summary
    body = {"organization": shared.org_name, "locale": shared.locale, "headline": s["headline"],
            "headline_items": s["headline_items"], "level": s["level"],
            "open": s["counts"]["bucket"].get("open", 0), "waiting": _waiting(s), "counts": s["counts"],
            "labels": s["labels"], "last_synced": s["last_synced"],
            "generated": s["generated"]}
    return _public(jsonify(body), 30)


@bp.get("/s/<token>/embed")
def embed(token: str) -> Response:
    """A card for an intranet's iframe: no script, no cookie, refreshed by the browser every minute."""
    shared = _read(token)
    zone = runtime_of(current_app).mapping.policies.calendar.zone
    synced = shared.summary["last_synced"]
    with force_locale(shared.locale):
        when = (format_datetime(datetime.fromisoformat(synced.replace("Z", "+00:00")).astimezone(zone),
                                "d MMM, HH:mm", locale=shared.locale) if synced else None)
        page = render_template("share_embed.html", shared=shared, s=shared.summary, synced=when,
                               waiting=_waiting(shared.summary), refresh=CARD_REFRESH_SECONDS,
                               full_url=url_for("portal_summary.shared_summary", token=token))
    response = _public(Response(page, mimetype="text/html"), 30)
    # Framing is allowed on this route only; everything else keeps frame-ancestors 'none' and X-Frame-Options.
    response.headers["Content-Security-Policy"] = EMBEDDABLE_CSP
    return response
