"""The request page (/tickets/<key>) and its live-update version endpoint; 404 outside the scope."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.context import current_user, locale_code, login_required, runtime_of
from app.errors import json_error
from app.portal.live import version_answer
from app.portal.sla_block import support_block
from app.portal.ticket_live import failed_comment_ids, given_rating, recent_actions, ticket_version
from app.services.download_names import disposition_names
from app.services.rendering import customer_description, renderer_for
from app.services.scope import visible_ticket
from app.services.serializers import comment_json, ticket_json
from sync.jsm.errors import JsmError
from sync.jsm.gateway import gateway_for
from sync.models import Attachment, Comment, StatusHistory, Ticket, User
from sync.outbound.messages import customer_message
from sync.scope import raised

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


def _label(mapping: Any, key: str, locale: str, requester: bool) -> str:
    try:
        return mapping.status(key).label(locale, requester=requester)
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
    render = renderer_for(db, ticket, lambda jira_id: url_for("portal_ticket.download_attachment", key=ticket.key,
                                                              jira_id=jira_id))
    description = customer_description(ticket.description)
    data["description_html"] = render(description) if description else ""
    comments = list(db.scalars(_public_comments(ticket.id)))
    refused = failed_comment_ids(db, ticket)
    data["comments"] = [{**comment_json(c, render(c.body)), "refused": c.id in refused} for c in comments]
    data["actions"] = recent_actions(db, ticket, lambda error: customer_message(error, locale))
    data["rating"] = given_rating(db, ticket)
    history = list(db.scalars(select(StatusHistory).where(StatusHistory.ticket_id == ticket.id)
                              .order_by(StatusHistory.at, StatusHistory.id)))
    # Several Jira statuses map to one customer status; repeated entries would read as noise.
    timeline: list[dict[str, Any]] = []
    for entry in history:
        if timeline and timeline[-1]["status"] == entry.customer_status:
            continue
        timeline.append({"status": entry.customer_status, "label": _label(mapping, entry.customer_status, locale,
                                                                         raised(user, ticket)),
                         "at": entry.at})
    data["timeline"] = timeline
    # Only rows servicedeskapi listed for customers are ever stored (sync.inbound.attachments).
    data["attachments"] = [
        {"jira_id": a.jira_id, "name": a.filename, "size": _size(a.size), "created": a.created_at,
         "author": a.author_name,
         "url": url_for("portal_ticket.download_attachment", key=ticket.key, jira_id=a.jira_id)}
        for a in db.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id, Attachment.deleted.is_(False))
                            .order_by(Attachment.created_at, Attachment.id))]
    data["version"] = ticket_version(db, ticket)
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
    return version_answer(version)
