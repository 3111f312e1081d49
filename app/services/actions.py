"""Accepting a customer action, shared by the JSON API and the portal forms: validate, scope, mapping, outbox."""

from __future__ import annotations

import base64
import re
from typing import Any

from app.services.rendering import wiki_to_html
from app.services.scope import can_act, can_create, may_act_on, visible_ticket
from app.services.serializers import SyncBlock, action_json, comment_json, ticket_sync
from sync.jobs import request_push
from sync.models import OutboxState, User
from sync.outbound.catalog import find_desk, request_type_fields, request_types, validate_create
from sync.outbound.outbox import OutboxConflict, submit
from sync.runtime import Runtime

MAX_COMMENT = 32_000
MAX_FILES = 5
VERBS = {"comment": "comment on", "resolve": "resolve", "cancel": "cancel", "reopen": "reopen", "rate": "rate"}
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]+$")


class ActionError(Exception):
    """A refused submission: HTTP status, message, and the offending field(s)."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.fields = status, message, field, fields


def _text(data: dict[str, Any], name: str, required: bool) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise ActionError(400, f"'{name}' is required", name)
        return None
    if not isinstance(value, str) or not value.strip():
        raise ActionError(400, f"'{name}' must be a non-empty string", name)
    if len(value) > MAX_COMMENT:
        raise ActionError(400, f"'{name}' must be at most {MAX_COMMENT} characters", name)
    return value.strip()


def action_payload(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox payload of a ticket action, or ActionError(400) naming the field."""
    if kind == "comment":
        files = _files(data.get("attachments"))  # with files the text is optional
        payload: dict[str, Any] = {"body": _text(data, "body", not files)}
        if files:
            payload["files"] = files
        return payload
    if kind == "rate":
        score = data.get("score")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ActionError(400, "'score' must be an integer from 1 to 5", "score")
        return {"score": score, "comment": _text(data, "comment", False)}
    return {"comment": _text(data, "comment", False)}


def _check_can_act(user: User) -> None:
    if not can_act(user):
        raise ActionError(403, "your roles let you view requests but not change them")


def accept_ticket_action(runtime: Runtime, user: User, key: str, kind: str, data: dict[str, Any],
                         idempotency_key: str | None = None, locale: str = "en") -> dict[str, Any]:
    """Record an action on a ticket in the outbox and enqueue its push; returns the 202 body."""
    payload = action_payload(kind, data)
    with runtime.sessions() as db, db.begin():
        ticket = visible_ticket(db, user, key)
        if ticket is None:
            raise ActionError(404, f"no ticket {key} in your scope")
        _check_can_act(user)
        if not may_act_on(db, user, ticket):
            raise ActionError(403, f"your roles let you view {key} but not change it")
        mapping = runtime.mapping
        try:
            status = mapping.status(ticket.customer_status)
        except KeyError:
            raise ActionError(409, f"the status of {key} is not known to the mapping; try again later") from None
        if not status.allows(kind):
            raise ActionError(409, f"you cannot {VERBS[kind]} a request that is “{status.label(locale)}”", "action")
        if payload.get("files"):
            if not status.allows("attach"):
                raise ActionError(409, f"you cannot attach files to a request that is “{status.label(locale)}”",
                                  "attachments")
            payload["service_desk"] = ticket.service_desk_id or ticket.project_key
        try:
            done = submit(db, kind, user, payload, ticket, idempotency_key)
        except OutboxConflict as exc:
            raise ActionError(409, str(exc), "action") from None
        result: dict[str, Any] = {"ticket": ticket.key, "action": action_json(done.action, locale),
                                  "sync": ticket_sync(db, ticket, locale)}
        if done.comment is not None:
            result["comment"] = comment_json(done.comment, wiki_to_html(done.comment.body))
        action_id, duplicate = done.action.id, done.duplicate
    if not duplicate:
        request_push(runtime.redis, action_id)
    return result


def _files(items: Any) -> list[dict[str, str]]:
    if items in (None, []):
        return []
    if not isinstance(items, list) or len(items) > MAX_FILES:
        raise ActionError(400, f"'attachments' must be a list of at most {MAX_FILES} files", "attachments")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                or not isinstance(item.get("content_base64"), str) or not item["content_base64"]:
            raise ActionError(400, "each attachment needs 'name' and 'content_base64' (strings)", "attachments")
        try:
            base64.b64decode(item["content_base64"], validate=True)
        except ValueError:
            raise ActionError(400, f"attachment {item['name']!r} is not valid base64", "attachments") from None
        out.append({"name": item["name"][:255], "mime": str(item.get("mime") or "application/octet-stream"),
                    "b64": item["content_base64"]})
    return out


def _desk_and_fields(runtime: Runtime, data: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]] | None]:
    ref, type_id = str(data.get("service_desk") or "").strip(), str(data.get("request_type") or "").strip()
    if not ref:
        raise ActionError(400, "'service_desk' is required (its id or project key)", "service_desk")
    if not type_id:
        raise ActionError(400, "'request_type' is required (its id)", "request_type")
    try:
        desk = find_desk(runtime, ref)
    except Exception:
        # JSM away and nothing cached: a project key is enough to send later; JSM validates then.
        if _PROJECT_KEY.match(ref.upper()):
            return ref.upper(), ref.upper(), None
        raise ActionError(503, "the service desks cannot be read from JSM right now; try again shortly") from None
    if desk is None:
        raise ActionError(400, f"no service desk {ref!r} is open to requests here", "service_desk")
    if type_id not in {t["id"] for t in request_types(runtime, desk["id"])}:
        raise ActionError(400, f"service desk {ref!r} has no request type {type_id!r}", "request_type")
    return desk["id"], desk["project_key"], request_type_fields(runtime, desk["id"], type_id)


def accept_create(runtime: Runtime, user: User, data: dict[str, Any], files: list[dict[str, str]] | None,
                  idempotency_key: str | None = None, locale: str = "en") -> dict[str, Any]:
    """Validate a new request against JSM's form, record it in the outbox, enqueue it; returns the 202 body."""
    if not can_create(user):
        raise ActionError(403, "your roles let you view requests but not open new ones")
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        raise ActionError(400, "'fields' must be an object of JSM field ids", "fields")
    desk_id, project_key, meta = _desk_and_fields(runtime, data)
    values: dict[str, Any] = dict(fields)
    if meta is not None:
        values, errors = validate_create(meta, data.get("summary"), data.get("description"), data.get("priority"),
                                         fields)
        if errors:
            first = next(iter(errors))
            raise ActionError(400, f"'{first}' {errors[first]}", first, errors)
    elif not isinstance(data.get("summary"), str) or not data["summary"].strip():
        raise ActionError(400, "'summary' is required", "summary")
    payload = {"service_desk": desk_id, "project_key": project_key, "request_type": str(data["request_type"]),
               "summary": data["summary"].strip(), "description": (data.get("description") or "").strip(),
               "fields": values, "files": files if files is not None else _files(data.get("attachments"))}
    with runtime.sessions() as db, db.begin():
        done = submit(db, "create", user, payload, None, idempotency_key)
        action = action_json(done.action, locale)
        action_id, duplicate = done.action.id, done.duplicate
    if not duplicate:
        request_push(runtime.redis, action_id)
    state = SyncBlock.FAILED if action["state"] == OutboxState.FAILED else SyncBlock.PENDING
    return {"action": action, "sync": {"state": state,
                                       "last_synced": None, "error": action["error"],
                                       "pending": [{"id": action_id, "action": "create", "state": action["state"]}]}}
