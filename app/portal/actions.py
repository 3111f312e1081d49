"""Portal forms for customer actions: the request page's actions panel and the create page `/tickets/new`.

The forms post here; acceptance is the same as the JSON API's (`app.services.actions`). Errors come back
as flashed messages in the customer's language; the page then shows the pending comment or change.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.context import current_user, locale_code, login_required, runtime_of
from app.portal.create_form import (
    MAX_SUMMARY,
    desk_note,
    field_message,
    form_fields,
    keep_token,
    priority_choices,
    uploaded_files,
    worded_errors,
)
from app.services.actions import MAX_FILES, ActionError, accept_create, accept_ticket_action
from app.services.serializers import action_json
from sync.models import OutboxAction, OutboxState
from sync.outbound.catalog import find_desk, request_type_fields, request_types, service_desks
from sync.policies.desk_kinds import desk_kinds

bp = Blueprint("portal_actions", __name__)


@bp.post("/tickets/<key>/actions/<any(comment, resolve, cancel, reopen, rate):kind>")
@login_required
def ticket_action(key: str, kind: str) -> Any:
    """One action from the request page's panel; back to the request page with a message."""
    user = current_user()
    data: dict[str, Any] = {"body": request.form.get("body"), "comment": request.form.get("comment")}
    if kind == "comment":
        data["attachments"] = [{"name": f.filename, "mime": f.mimetype or "application/octet-stream",
                                "content_base64": base64.b64encode(f.read()).decode()}
                               for f in request.files.getlist("files") if f and f.filename]
    if kind == "rate":
        raw = request.form.get("score", "")
        # isdigit() is also true for "²" and "٣", which int() refuses: only ASCII digits are a score.
        data["score"] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 4 else raw
    try:
        accept_ticket_action(runtime_of(current_app), user, key, kind, data, locale=locale_code(),
                             idempotency_key=request.form.get("submission") or None)
    except ActionError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("portal_ticket.ticket_page", key=key)), 303
    flash(_("Sent to support. It shows as pending until support's system confirms it."), "ok")
    return redirect(url_for("portal_ticket.ticket_page", key=key) + "#ticket-actions"), 303


def _form_state(runtime: Any) -> dict[str, Any]:
    desks, types, fields, problem = [], [], [], None
    desk = request_type = priority_field = None
    desk_ref = request.values.get("service_desk") or ""
    type_ref = request.values.get("request_type") or ""
    try:
        desks = service_desks(runtime)
        desk = find_desk(runtime, desk_ref) if desk_ref else (desks[0] if len(desks) == 1 else None)
        if desk:
            types = request_types(runtime, desk["id"])
            request_type = next((t for t in types if t["id"] == type_ref), None)
            if request_type:
                fields = [f for f in request_type_fields(runtime, desk["id"], request_type["id"])
                          if f["field_id"] not in ("summary", "description", "attachment")]
                priority_field = next((f for f in fields if f["field_id"] == "priority"), None)
    except Exception:
        problem = _("Support's system cannot be reached right now, so the forms cannot be shown. Try again shortly.")
    notes = runtime.settings.portal.desk_notes
    locale = locale_code()
    with runtime.sessions() as db:
        kinds = desk_kinds(db, runtime.mapping, [d["project_key"] for d in desks]) if desks else {}
    for d in desks:
        note = notes.get(d["project_key"]) or {}
        d["note"] = note.get(locale) or note.get("en") or desk_note(kinds.get(d["project_key"]))
    return {"desks": desks, "desk": desk, "types": types, "request_type": request_type,
            "fields": form_fields(fields), "priorities": priority_choices(runtime.mapping, priority_field, locale),
            "problem": problem, "max_files": MAX_FILES}


def _create(runtime: Any, user: Any, state: dict[str, Any], files: list[dict[str, str]]) -> tuple[Any, dict[str, str]]:
    """Validate in the customer's words, then accept; (redirect or None, errors by form key)."""
    summary = (request.form.get("summary") or "").strip()
    errors: dict[str, str] = {}
    if not summary:
        errors["summary"] = field_message("required", _("Subject"))
    elif len(summary) > MAX_SUMMARY:
        errors["summary"] = field_message("too_long", _("Subject"))
    if len(files) > MAX_FILES:
        errors["files"] = _("You can attach up to %(n)s files; you chose %(m)s. Remove some and send again.",
                            n=MAX_FILES, m=len(files))
    if errors:
        return None, errors
    chosen = request.form.get("priority") or ""
    jira_priority = next((p["jira"] for p in state["priorities"] if p["key"] == chosen), None)
    custom = {f["field_id"]: request.form.get(f"field.{f['field_id']}") for f in state["fields"]}
    data = {"service_desk": state["desk"]["id"], "request_type": state["request_type"]["id"],
            "summary": summary, "description": request.form.get("description"), "priority": jira_priority,
            "fields": {k: v for k, v in custom.items() if v not in (None, "")}}
    try:
        result = accept_create(runtime, user, data, files, locale=locale_code(),
                               idempotency_key=request.form.get("submission") or None)
    except ActionError as exc:
        names = {f["field_id"]: f["name"] for f in state["fields"]} | {"summary": _("Subject"),
                                                                       "priority": _("Priority")}
        raw = exc.fields or ({exc.field: exc.message} if exc.field else {})
        worded = worded_errors(raw, names)
        if not worded:
            worded["form"] = _("Support's system cannot take the request right now. Try again shortly.") \
                if exc.status >= 500 else _("The request could not be sent. Check the form and try again.")
        return None, worded
    return redirect(url_for("portal_actions.submission", action_uuid=result["action"]["uuid"])), {}


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new_ticket() -> Any:
    """Choose a service desk and a request type, then fill in its form from JSM (with files)."""
    user = current_user()
    runtime = runtime_of(current_app)
    state = _form_state(runtime)
    errors: dict[str, str] = {}
    kept: list[dict[str, str]] = []
    if request.method == "POST" and state["desk"] and state["request_type"]:
        files = uploaded_files(request.files, request.form.getlist("kept"))
        done, errors = _create(runtime, user, state, files)
        if done is not None:
            return done, 303
        kept = files[:MAX_FILES]
        flash(_("The request is not sent yet: correct the marked fields."), "error")
    follow_up = (request.args.get("follow_up") or "")[:64]
    form = request.form if request.method == "POST" else \
        {"description": _("Follow-up to %(key)s.", key=follow_up)} if follow_up else {}
    return render_template("actions/new.html", user=user, form=form, errors=errors, follow_up=follow_up,
                           kept=[{"name": f["name"], "token": keep_token(f)} for f in kept],
                           submission=request.form.get("submission") or str(uuid.uuid4()), **state), \
        (400 if errors else 200)


@bp.get("/submissions/<action_uuid>")
@login_required
def submission(action_uuid: str) -> Any:
    """A new request on its way to JSM; it becomes the request page as soon as JSM has it."""
    user = current_user()
    with runtime_of(current_app).sessions() as db:
        action = db.scalars(select(OutboxAction).where(OutboxAction.uuid == action_uuid)).first()
        if action is None or action.user_id != user.id:
            abort(404)
        data = action_json(action, locale_code())
    if data["state"] == OutboxState.DONE and data["result_key"]:
        return redirect(url_for("portal_ticket.ticket_page", key=data["result_key"]))
    return render_template("actions/submission.html", user=user, action=data)
