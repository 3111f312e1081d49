"""The JSON API (/api/v1): tickets in the caller's scope, one ticket with comments and history, the summary."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import get_translations
from sqlalchemy import func, select

from app.auth import api_auth_required
from app.context import current_user, locale_code, runtime_of, user_zone
from app.errors import json_error
from app.services.bounded_count import COUNT_BOUND, bounded_count
from app.services.newest_first import newest_first_page
from app.services.rendering import renderer_for
from app.services.scope import ScopeError, visible_ticket
from app.services.search import matches_text
from app.services.serializers import comment_json, history_json, ticket_json, tickets_json
from app.services.summary import summary_scope
from app.services.summary_cache import RECHECK_SECONDS, reader_summary
from sync.models import Comment, StatusHistory, Ticket
from sync.scope import spans_every_organisation, visible_condition

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 200


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _conditions(user, args):  # type: ignore[no-untyped-def]
    """The caller's scope and the API's list filters, as WHERE conditions."""
    where = [visible_condition(user, args.get("scope") or "mine")]
    if args.get("status"):
        where.append(Ticket.customer_status.in_(args.get("status").split(",")))
    if args.get("priority"):
        where.append(Ticket.customer_priority.in_(args.get("priority").split(",")))
    if args.get("bucket"):
        where.append(Ticket.bucket.in_(args.get("bucket").split(",")))
    if args.get("q"):
        where.append(matches_text(args.get("q").strip()[:200]))
    return where


def ticket_page(user, args):  # type: ignore[no-untyped-def]
    """A page of `user`'s tickets (the list filters of `args`); ValueError or ScopeError for bad arguments."""
    runtime = runtime_of(current_app)
    page = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", 50, 1, MAX_PER_PAGE)
    where = _conditions(user, args)
    every = spans_every_organisation(user, args.get("scope") or "mine")
    with runtime.sessions() as db:
        # Across every organisation the total is counted up to a bound (at least past this page), as the list's.
        if every:
            total, exact = bounded_count(db, where, max(COUNT_BOUND, (page + 1) * per_page))
        else:
            total, exact = int(db.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0), True
        rows = db.scalars(newest_first_page(where, per_page, (page - 1) * per_page, every)).all()
        items = tickets_json(list(rows), runtime.mapping, user, locale_code())
    return {"items": items, "page": page, "per_page": per_page, "total": total, "total_exact": exact}


def ticket_detail(user, key):  # type: ignore[no-untyped-def]
    """One ticket as `user` reads it (public comments, history), or None outside their scope."""
    runtime = runtime_of(current_app)
    with runtime.sessions() as db:
        ticket = visible_ticket(db, user, key)
        if ticket is None:
            return None
        data = ticket_json(ticket, runtime.mapping, user, locale_code())
        comments = db.scalars(select(Comment).where(Comment.ticket_id == ticket.id, Comment.public.is_(True),
                                                    Comment.deleted.is_(False))
                              .order_by(Comment.created_at, Comment.id)).all()
        render = renderer_for(db, ticket, lambda jira_id: url_for("portal_ticket.download_attachment",
                                                                  key=ticket.key, jira_id=jira_id))
        data["comments"] = [comment_json(c, render(c.body)) for c in comments]
        history = db.scalars(select(StatusHistory).where(StatusHistory.ticket_id == ticket.id)
                             .order_by(StatusHistory.at, StatusHistory.id)).all()
        data["history"] = [history_json(h) for h in history]
    return data


@bp.get("/tickets")
@api_auth_required
def list_tickets():  # type: ignore[no-untyped-def]
    """A page of tickets in the caller's scope, newest activity first."""
    try:
        return jsonify(ticket_page(current_user(), request.args))
    except (ValueError, ScopeError) as exc:
        return json_error(400, str(exc))


@bp.get("/tickets/<key>")
@api_auth_required
def get_ticket(key: str):  # type: ignore[no-untyped-def]
    """One ticket with its public comments (oldest first) and customer-status history; 404 outside scope."""
    data = ticket_detail(current_user(), key)
    if data is None:
        return json_error(404, f"no ticket {key} in your scope")
    return jsonify(data)


@bp.get("/summary")
@api_auth_required
def summary():  # type: ignore[no-untyped-def]
    """The caller's summary (DESIGN.md): headline, counts, recent changes, medians, 90-day history."""
    user = current_user()
    runtime = runtime_of(current_app)
    try:
        scope = summary_scope(user, request.args.get("scope"))
    except ScopeError as exc:
        return json_error(400, str(exc))
    with runtime.sessions() as db:
        data = reader_summary(db, runtime, user, scope, locale_code(), user_zone(user), get_translations())
    data["scope"] = scope
    if data.get("counting"):
        # The first count of a big scope's summary runs on a worker: ask again shortly. (Not as
        # Retry-After: the rate limiter's headers own that one.)
        return jsonify({**data, "retry_after_seconds": RECHECK_SECONDS}), 202
    return jsonify(data)
