"""The request page (/tickets/<key>) and its live-update version endpoint; 404 outside the scope."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.context import current_user, locale_code, login_required, runtime_of
from app.errors import json_error
from app.portal.sla_block import support_block
from app.services.download_names import disposition_names
from app.services.rendering import wiki_to_html
from app.services.scope import visible_ticket
from app.services.serializers import comment_json, iso, ticket_json
from sync.jsm.errors import JsmError
from sync.jsm.gateway import gateway_for
from sync.models import Attachment, Comment, StatusHistory, Ticket, User

bp = Blueprint("portal_ticket", __name__)
# Downloads above this size are refused rather than relayed (the portal is not a file server).
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024


def _size(n: int) -> str:
    if n < 1024:
        return _("%(n)s B", n=n)
    if n < 1024 * 1024:
        return _("%(n)s KB", n=f"{n / 1024:.1f}")
    return _("%(n)s MB", n=f"{n / (1024 * 1024):.1f}")


def _public_comments(ticket_id: int) -> Any:
    # The one filter that keeps internal notes away from customers: JSM's public flag, never deleted.
    return (select(Comment).where(Comment.ticket_id == ticket_id, Comment.public.is_(True),
                                  Comment.deleted.is_(False)).order_by(Comment.created_at, Comment.id))


def _fingerprint(ticket: Ticket, comments: int, comment_updated: Any, comment_id: int | None,
                 history: int) -> str:
    # Times as ISO text: SQLite returns MAX() of a time column as text, a loaded row gives a datetime.
    if isinstance(comment_updated, str):
        comment_updated = datetime.fromisoformat(comment_updated).replace(tzinfo=UTC)
    parts = (iso(ticket.jira_updated_at), ticket.customer_status, ticket.customer_priority, ticket.summary,
             ticket.assignee_name, (comments, iso(comment_updated), comment_id), history)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def ticket_version(db: Session, ticket: Ticket) -> str:
    """A fingerprint of what the request page shows: fields, status, public comments, timeline."""
    comments = db.execute(select(func.count(), func.max(Comment.updated_at), func.max(Comment.id))
                          .where(Comment.ticket_id == ticket.id, Comment.public.is_(True),
                                 Comment.deleted.is_(False))).one()
    history = db.scalar(select(func.count()).where(StatusHistory.ticket_id == ticket.id)) or 0
    return _fingerprint(ticket, comments[0], comments[1], comments[2], history)


def _loaded_version(ticket: Ticket, comments: list[Comment], history: list[StatusHistory]) -> str:
    """`ticket_version` from the rows the page already read (the same filters), without two more queries."""
    return _fingerprint(ticket, len(comments), max((c.updated_at for c in comments), default=None),
                        max((c.id for c in comments), default=None), len(history))


def _label(mapping: Any, key: str, locale: str) -> str:
    try:
        return mapping.status(key).label(locale)
    except KeyError:
        return key


def _priority_meaning(mapping: Any, key: str, locale: str) -> str:
    try:
        return mapping.priority(key).description(locale)
    except KeyError:
        return ""


def _page_data(db: Session, ticket: Ticket, user: User) -> dict[str, Any]:
    mapping = runtime_of(current_app).mapping
    locale = locale_code()
    data = ticket_json(ticket, mapping, user, locale)
    data["assignee"] = ticket.assignee_name
    data["priority_description"] = _priority_meaning(mapping, ticket.customer_priority, locale)
    data["description_html"] = wiki_to_html(ticket.description) if ticket.description else ""
    comments = list(db.scalars(_public_comments(ticket.id)))
    data["comments"] = [comment_json(c, wiki_to_html(c.body)) for c in comments]
    history = list(db.scalars(select(StatusHistory).where(StatusHistory.ticket_id == ticket.id)
                              .order_by(StatusHistory.at, StatusHistory.id)))
    # Several Jira statuses map to one customer status; repeated entries would read as noise.
    timeline: list[dict[str, Any]] = []
    for entry in history:
        if timeline and timeline[-1]["status"] == entry.customer_status:
            continue
        timeline.append({"status": entry.customer_status, "label": _label(mapping, entry.customer_status, locale),
                         "at": entry.at})
    data["timeline"] = timeline
    # Only rows servicedeskapi listed for customers are ever stored (sync.inbound.attachments).
    data["attachments"] = [
        {"jira_id": a.jira_id, "name": a.filename, "size": _size(a.size), "created": a.created_at,
         "author": a.author_name,
         "url": url_for("portal_ticket.download_attachment", key=ticket.key, jira_id=a.jira_id)}
        for a in db.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id, Attachment.deleted.is_(False))
                            .order_by(Attachment.created_at, Attachment.id))]
    data["version"] = _loaded_version(ticket, comments, history)
    return data


@bp.get("/tickets/<key>")
@login_required
def ticket_page(key: str) -> Any:
    """One request as its customer sees it."""
    user = current_user()
    with runtime_of(current_app).sessions() as db:
        ticket = visible_ticket(db, user, key, joinedload(Ticket.organization))
        if ticket is None:
            abort(404)
        data = _page_data(db, ticket, user)
        version = data.pop("version")
    return render_template("ticket.html", user=user, ticket=data, version=version,
                           support=support_block(runtime_of(current_app).mapping, data))


@bp.get("/tickets/<key>/attachments/<jira_id>")
@login_required
def download_attachment(key: str, jira_id: str) -> Any:
    """One mirrored (customer-visible) attachment of a visible ticket, relayed from JSM as a download."""
    user = current_user()
    runtime = runtime_of(current_app)
    with runtime.sessions() as db:
        ticket = visible_ticket(db, user, key)
        found = None if ticket is None else db.scalar(
            select(Attachment).where(Attachment.ticket_id == ticket.id, Attachment.jira_id == jira_id,
                                     Attachment.deleted.is_(False)))
        if found is None:
            abort(404)
        filename, size = found.filename, found.size
    if size > MAX_DOWNLOAD_BYTES:
        abort(413)
    try:
        chunks = gateway_for(runtime).attachment_content(jira_id, filename, MAX_DOWNLOAD_BYTES)
    except JsmError as exc:
        current_app.logger.warning("attachment %s of %s not downloaded: %s", jira_id, key, exc)
        abort(404 if getattr(exc, "status", None) == 404 else 502)
    # Always a download, never rendered here: HTML or SVG from a file would run in the portal's origin.
    response = Response(stream_with_context(chunks), mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", **disposition_names(filename))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/live/tickets/<key>")
def live_ticket(key: str) -> Any:
    """The request page's version for the polling script; 304 while unchanged, 404 outside the scope."""
    user = current_user()
    if user is None:
        return json_error(401, "sign in again")
    with runtime_of(current_app).sessions() as db:
        ticket = visible_ticket(db, user, key)
        if ticket is None:
            return json_error(404, "not found")
        version = ticket_version(db, ticket)
    if request.if_none_match.contains(version):
        return Response(status=304, headers={"ETag": f'"{version}"', "Cache-Control": "no-cache"})
    response = jsonify(version=version)
    response.set_etag(version)
    response.headers["Cache-Control"] = "no-cache"
    return response
