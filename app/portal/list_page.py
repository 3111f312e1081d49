"""The ticket list page's rendering, its CSV export and its live-update version endpoint."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func
from sqlalchemy.orm import Session, defer, joinedload

from app.context import current_user, locale_code, login_required, runtime_of, user_zone
from app.errors import json_error
from app.portal.formatting import datetime_formatter
from app.portal.list_query import (
    COLUMNS,
    DEFAULT_COLUMNS,
    PER_PAGE,
    BadFilter,
    ListSpec,
    filtered,
    ordered,
    parse_spec,
    people_query,
)
from app.portal.list_rows import page_query
from app.portal.list_stats import list_stats, list_version, window_of
from app.portal.live import version_answer
from app.portal.sla_block import support_hours
from app.services.download_names import disposition_names
from app.services.scope import ScopeError, scopes_for, visible_tickets
from app.services.scope_size import holds_many
from app.services.serializers import ticket_json, tickets_json
from sync.models import Ticket, User
from sync.scope import reported_by

bp = Blueprint("portal_list", __name__)
COLUMNS_COOKIE = "cols"
# Rows of the list and the CSV: the organisation in the same statement (a read, so no FOR UPDATE
# concern with the outer join), and not the columns neither shows (description can be long).
LIST_LOAD = (joinedload(Ticket.organization), defer(Ticket.description))


def chosen_columns() -> list[str]:
    """The columns the reader picked (form first, then the cookie), always including the key."""
    if request.args.get("cols_set"):
        raw = request.args.getlist("cols")
    else:
        raw = (request.cookies.get(COLUMNS_COOKIE) or "").split(".")
    picked = [c for c in COLUMNS if c in raw]
    return picked if picked else list(DEFAULT_COLUMNS)


def _rows(tickets: list[Ticket], user: User, locale: str) -> list[dict[str, Any]]:
    rows = tickets_json(tickets, runtime_of(current_app).mapping, user, locale)
    # One url_for and the route's own converter per key, not two url_for calls per row in the template.
    marker = "__ticket_key__"
    before, _, after = url_for("portal_ticket.ticket_page", key=marker).partition(marker)
    to_url = current_app.url_map.converters["default"](current_app.url_map).to_url
    for ticket, data in zip(tickets, rows, strict=True):
        data["assignee"] = ticket.assignee_name
        data["url"] = before + to_url(ticket.key) + after
    return rows


def current_version(user: User, spec: ListSpec) -> str:
    """A short fingerprint of the filtered list (see `list_stats`)."""
    with runtime_of(current_app).sessions() as db:
        return list_version(db, user, spec, user_zone(user), runtime_of(current_app).mapping)


def awaiting_you(db: Session, user: User) -> int:
    """How many of the reader's own open requests wait for their reply (the "needs your action" banner).

    Only those they raised: a request they take part in waits for its requester, not for them.
    """
    if "mine" not in scopes_for(user):
        return 0
    query = visible_tickets(user, "mine").where(reported_by(user), Ticket.customer_status == "awaiting_customer",
                                                Ticket.bucket == "open")
    return int(db.scalar(query.with_only_columns(func.count()).order_by(None)) or 0)


def list_page(user: User) -> Any:
    """Render the list with the reader's scope, filters, sort, columns and page."""
    runtime = runtime_of(current_app)
    try:
        spec = parse_spec(user, request.args)
    except (BadFilter, ScopeError):
        return redirect(url_for("portal.index"))
    zone = user_zone(user)
    locale = locale_code()
    columns = chosen_columns()
    with runtime.sessions() as db:
        many = holds_many(db, user, spec.scope)
        if many:
            # Read through indexes: the page first, and its rows are the fingerprint's (one read, not two).
            rows = list(db.scalars(page_query(db, user, spec, zone, runtime.mapping).options(*LIST_LOAD)))
            total, types, version, capped = list_stats(db, user, spec, zone, runtime.mapping, window_of(rows))
        else:
            total, types, version, capped = list_stats(db, user, spec, zone, runtime.mapping)
            rows = list(db.scalars(page_query(db, user, spec, zone, runtime.mapping).options(*LIST_LOAD))) if total \
                else []
        tickets = _rows(rows, user, locale)
        waiting_for_you = awaiting_you(db, user)
        people = {name: list(db.scalars(people_query(user, spec, column, many)))
                  for name, column in (("reporters", Ticket.reporter_name), ("assignees", Ticket.assignee_name))}
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for ticket in tickets:
        if not groups or groups[-1][0] != ticket["bucket"]:
            groups.append((ticket["bucket"], []))
        groups[-1][1].append(ticket)
    pages = max(1, -(-total // PER_PAGE))
    response = current_app.make_response(render_template(
        "list.html", user=user, spec=spec, groups=groups, total=total, capped=capped, pages=pages, columns=columns,
        all_columns=COLUMNS, scopes=scopes_for(user), mapping=runtime.mapping, locale=locale, types=types,
        version=version, support=support_hours(runtime.mapping), waiting_for_you=waiting_for_you,
        people=people))
    if request.args.get("cols_set"):
        # Dots, not commas: a comma would make werkzeug quote the cookie value.
        response.set_cookie(COLUMNS_COOKIE, ".".join(columns), max_age=365 * 86400, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response


def _safe_cell(value: Any) -> str:
    # Spreadsheets execute cells starting with = + - @ (CSV injection), also after a tab or line break
    # some of them skip; a leading quote defuses them.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else text


# Excel reads a CSV in the system's list separator: ";" where the decimal mark is a comma (Russian), "," in
# English. A `sep=` line would also work but makes Excel ignore the BOM, so the separator follows the language.
CSV_SEPARATORS = {"ru": ";"}
# ISO 8601 in the reader's zone without the offset: Excel and LibreOffice read it as a date-time in any locale.
CSV_TIME = "yyyy-MM-dd HH:mm"


def csv_file_name(user: User, spec: ListSpec, day: str) -> str:
    """`requests-<scope>[-<organisation>]-<date>.csv`: which list it is and when it was taken."""
    parts = ["requests", spec.scope]
    if spec.scope != "mine" and user.organization is not None:
        parts.append(user.organization.slug)
    return "-".join([*parts, day]) + ".csv"


def _csv_cells(data: dict[str, Any], fmt: Any) -> dict[str, Any]:
    return {"key": data["key"], "summary": data["summary"], "type": data["request_type"],
            "status": data["status_label"], "priority": data["priority_label"],
            "reporter": data["reporter"]["name"], "assignee": data["assignee"], "created": fmt(data["created"]),
            "updated": fmt(data["updated"]), "resolved": fmt(data["resolved"])}


@bp.get("/export.csv")
@login_required
def export_csv() -> Any:
    """The filtered list as CSV for spreadsheets: the chosen columns, BOM, the language's separator, ISO times."""
    user = current_user()
    runtime = runtime_of(current_app)
    try:
        spec = parse_spec(user, request.args)
    except (BadFilter, ScopeError) as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    query = ordered(filtered(user, spec, user_zone(user)), spec, runtime.mapping).options(*LIST_LOAD)
    locale = locale_code()
    columns = chosen_columns()
    titles = {"key": _("Key"), "summary": _("Subject"), "type": _("Type"), "status": _("Status"),
              "priority": _("Priority"), "reporter": _("Reporter"), "assignee": _("Assignee"),
              "created": _("Created"), "updated": _("Updated"), "resolved": _("Resolved")}
    separator = CSV_SEPARATORS.get(locale, ",")
    day = datetime.now(UTC).astimezone(user_zone(user)).date().isoformat()
    name = csv_file_name(user, spec, day)

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        buffer.write("\ufeff")  # the BOM: without it Excel reads UTF-8 as the local code page
        writer = csv.writer(buffer, delimiter=separator)
        writer.writerow([titles[c] for c in columns])
        fmt = datetime_formatter(CSV_TIME)
        memo: dict[tuple[str, str], Any] = {}
        with runtime.sessions() as db:
            for ticket in db.scalars(query.execution_options(yield_per=500)):
                # The CSV has no sync or SLA column: skip the outbox and SLA lookups per row.
                data = ticket_json(ticket, runtime.mapping, user, locale, sync_block={}, memo=memo, sla=[])
                data["assignee"] = ticket.assignee_name
                cells = _csv_cells(data, fmt)
                writer.writerow([_safe_cell(cells[c]) for c in columns])
                if buffer.tell() > 32_768:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", **disposition_names(name))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/live/list")
def live_list() -> Any:
    """The list's version for the polling script; 304 while it has not changed."""
    user = current_user()
    if user is None:
        return json_error(401, "sign in again")
    try:
        spec = parse_spec(user, request.args)
    except (BadFilter, ScopeError) as exc:
        return json_error(400, str(exc))
    return version_answer(current_version(user, spec))
