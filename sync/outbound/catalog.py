"""Service desks, request types and their fields from JSM, cached in Redis; create forms checked against them.

The cache is shared by every web process (TTL CACHE_SECONDS, `refresh=True` re-reads). Without Redis
the catalog is read from JSM directly; without JSM a create is still accepted unvalidated (the outbox
exists so that customers can submit while JSM is away) and JSM's own 400 fails it later.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sync.jsm.gateway import gateway_for
from sync.redis_conn import get_bytes

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)
_T = TypeVar("_T")

CACHE_SECONDS = 600
PREFIX = "companion:jsm:catalog:v1:"
SKIPPED_FIELDS = ("summary", "description", "attachment")


def _cached(runtime: Runtime, name: str, load: Callable[[], _T], refresh: bool) -> _T:
    key = PREFIX + name
    if not refresh:
        try:
            raw = get_bytes(runtime.redis, key)
            if raw:
                cached: _T = json.loads(raw)  # what `load` returned, through JSON
                return cached
        except Exception as exc:  # Redis away: read JSM directly
            log.info("catalog cache unavailable: %s", exc)
    value = load()
    with contextlib.suppress(Exception):  # the cache is an optimisation
        runtime.redis.set(key, json.dumps(value), ex=CACHE_SECONDS)
    return value


def service_desks(runtime: Runtime, refresh: bool = False) -> list[dict[str, Any]]:
    """The service desks customers may raise requests in (the mirrored projects)."""
    def load() -> list[dict[str, Any]]:
        return [{"id": d.id, "project_key": d.project_key, "name": d.project_name or d.project_key}
                for d in gateway_for(runtime).list_service_desks()]

    desks = _cached(runtime, "desks", load, refresh)
    return [d for d in desks if runtime.settings.jira.mirrors(d["project_key"])]


def find_desk(runtime: Runtime, ref: str) -> dict[str, Any] | None:
    """A service desk by id or project key."""
    ref = str(ref).strip()
    return next((d for d in service_desks(runtime) if ref in (d["id"], d["project_key"], d["project_key"].lower())),
                None)


def request_types(runtime: Runtime, desk_id: str, refresh: bool = False) -> list[dict[str, Any]]:
    """Request types of one service desk."""
    def load() -> list[dict[str, Any]]:
        return [{"id": t.id, "name": t.name, "description": t.description}
                for t in gateway_for(runtime).list_request_types(desk_id)]

    return _cached(runtime, f"types:{desk_id}", load, refresh)


def request_type_fields(runtime: Runtime, desk_id: str, type_id: str, refresh: bool = False) -> list[dict[str, Any]]:
    """The form of a request type: JSM's field metadata (required flags, option values)."""
    def load() -> list[dict[str, Any]]:
        meta = gateway_for(runtime).request_type_fields(desk_id, type_id)
        return [{"field_id": f.field_id, "name": f.name, "required": f.required, "type": f.type,
                 "description": f.description, "options": [{"value": v, "label": label}
                                                           for v, label in f.valid_values]}
                for f in meta.fields]

    return _cached(runtime, f"fields:{desk_id}:{type_id}", load, refresh)


class FieldError(str):
    """An error message (the API shows the text) carrying a `code` a form can word in the reader's language."""

    code: str

    def __new__(cls, code: str, text: str) -> FieldError:
        made = super().__new__(cls, text)
        made.code = code
        return made


def _option(field: dict[str, Any], raw: Any) -> str | None:
    ref = raw.get("id") or raw.get("value") if isinstance(raw, dict) else raw
    wanted = str(ref).strip().lower()
    for option in field["options"]:
        if wanted in (str(option["value"]).lower(), str(option["label"]).lower()):
            return str(option["value"])
    return None


def validate_create(meta: list[dict[str, Any]], summary: Any, description: Any, priority: Any,
                    fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """JSM `requestFieldValues` for the extra fields, and errors by field name (empty when valid)."""
    errors: dict[str, str] = {}
    if not isinstance(summary, str) or not summary.strip():
        errors["summary"] = FieldError("required", "is required")
    elif len(summary) > 255:
        errors["summary"] = FieldError("too_long", "must be at most 255 characters")
    if description is not None and not isinstance(description, str):
        errors["description"] = FieldError("invalid", "must be a string")
    by_id = {f["field_id"]: f for f in meta}
    values = dict(fields)
    if priority not in (None, ""):
        values["priority"] = priority
    out: dict[str, Any] = {}
    for field_id, raw in values.items():
        field = by_id.get(field_id)
        if field is None or field_id in SKIPPED_FIELDS:
            if field_id not in ("summary", "description"):
                errors[f"fields.{field_id}" if field_id != "priority" else "priority"] = \
                    FieldError("unknown_field", "is not a field of this request type")
            continue
        if field["options"]:
            option = _option(field, raw)
            if option is None:
                labels = ", ".join(str(o["label"]) for o in field["options"])
                errors[field_id if field_id == "priority" else f"fields.{field_id}"] = \
                    FieldError("not_an_option", f"{raw!r} is not one of: {labels}")
            else:
                out[field_id] = {"id": option}
        elif raw not in (None, ""):
            out[field_id] = raw if isinstance(raw, str | int | float | list | dict) else str(raw)
    for field in meta:
        if field["required"] and field["field_id"] not in SKIPPED_FIELDS and field["field_id"] not in out \
                and f"fields.{field['field_id']}" not in errors:
            errors[f"fields.{field['field_id']}"] = FieldError("required", f"{field['name']} is required")
    return out, errors
