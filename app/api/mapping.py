"""The mapping API: read it, preview a proposal, publish (re-projecting every ticket), versions, unmapped."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from app.auth import admin_required, api_auth_required
from app.context import current_user, runtime_of
from app.errors import json_error
from app.services.audit import record
from app.services.serializers import iso
from mappings import Mapping, MappingError, load_yaml
from sync import mapping_store
from sync.jobs import reproject_progress, request_reproject
from sync.models import utcnow
from sync.permissions import is_admin
from sync.policies.forecast import forecast
from sync.projection import reproject
from sync.projection.unmapped import unmapped_report

bp = Blueprint("admin_mapping", __name__, url_prefix="/api/v1/mapping")
# The editor's comment box allows as much (maxlength); a version's comment is a note, not a document.
MAX_COMMENT = 500


def _proposal() -> Mapping:
    """The mapping in the request body: {"document": <object or YAML text>} (or the object itself)."""
    body = request.get_json(silent=True)
    if body is None:
        raise MappingError(["the body must be JSON: {\"document\": <mapping object or YAML text>}"])
    document = body.get("document", body) if isinstance(body, dict) else body
    if isinstance(document, str):
        return load_yaml(document)
    if not isinstance(document, dict):
        raise MappingError(["document: must be a mapping object or YAML text"])
    return Mapping.from_dict(document)


# What a customer may read of the mapping: the vocabulary they see, never the Jira side (internal
# status and priority names, fallbacks, transitions, automatic rules, request-type matching).
CUSTOMER_KEYS = ("version", "statuses", "priorities", "categories", "calendar")
CATEGORY_KEYS = ("key", "labels", "descriptions")


def customer_view(document: dict[str, Any]) -> dict[str, Any]:
    """The mapping document without anything that names or matches Jira's own configuration."""
    view = {key: document[key] for key in CUSTOMER_KEYS if key in document}
    view["categories"] = [{key: c[key] for key in CATEGORY_KEYS if key in c} for c in view.get("categories", [])]
    return view


@bp.get("")
@api_auth_required
def get_mapping():  # type: ignore[no-untyped-def]
    """The active mapping: the whole document for admins, the customer vocabulary for everyone else."""
    runtime = runtime_of(current_app)
    admin = is_admin(current_user())
    document = runtime.mapping.to_dict()
    data: dict[str, Any] = {"version": mapping_store.active_version(runtime),
                            "document": document if admin else customer_view(document)}
    if admin:
        data["unmapped"] = unmapped_report(runtime)
    return jsonify(data)


@bp.put("")
@admin_required
def put_mapping():  # type: ignore[no-untyped-def]
    """Publish a new version and enqueue the re-projection of every ticket (a `maintenance` job)."""
    runtime = runtime_of(current_app)
    try:
        proposal = _proposal()
    except MappingError as exc:
        return json_error(400, "invalid mapping", messages=exc.messages)
    comment = (request.get_json(silent=True) or {}).get("comment", "") if request.is_json else ""
    actor = current_user()
    version = mapping_store.publish_version(
        runtime, proposal.to_yaml(), author=actor.email, comment=str(comment or ""),
        on_publish=lambda db, number: record(db, actor, "mapping.publish", f"mapping version {number}", None,
                                             {"comment": str(comment or "")}))
    job_id = request_reproject(runtime, version)
    return jsonify(version=version, job=job_id, progress_url="/api/v1/mapping/progress"), 202


@bp.get("/progress")
@admin_required
def progress():  # type: ignore[no-untyped-def]
    """Progress of the latest re-projection."""
    return jsonify(reproject_progress(runtime_of(current_app).redis) or {"state": "idle"})


@bp.post("/preview")
@admin_required
def preview():  # type: ignore[no-untyped-def]
    """How many tickets would change customer status under a proposed mapping, from what to what, and
    what its automatic rules would do: requests closed (or reminded) at once and more within the week."""
    runtime = runtime_of(current_app)
    try:
        proposal = _proposal()
    except MappingError as exc:
        return json_error(400, "invalid mapping", messages=exc.messages)
    with runtime.sessions() as session:
        data = reproject.preview(session, proposal).as_dict()
        data["policies"] = forecast(session, proposal, utcnow(), runtime.settings.portal.default_locale).as_dict()
        return jsonify(data)


@bp.get("/versions")
@admin_required
def versions():  # type: ignore[no-untyped-def]
    """Every published version, newest first."""
    return jsonify(items=[{"version": v.version, "active": v.active, "author": v.author, "comment": v.comment,
                           "created": iso(v.created_at)} for v in mapping_store.list_versions(runtime_of(current_app))])


@bp.post("/rollback")
@admin_required
def rollback():  # type: ignore[no-untyped-def]
    """Publish an earlier version again (as a new version) and re-project."""
    runtime = runtime_of(current_app)
    body = request.get_json(silent=True)
    version_number = body.get("version") if isinstance(body, dict) else None
    # bool is an int in Python; versions are positive and fit the database's integer column.
    if isinstance(version_number, bool) or not isinstance(version_number, int) or not 1 <= version_number < 2**31:
        return json_error(400, 'body must be {"version": <number>}')
    actor = current_user()
    try:
        version = mapping_store.rollback(
            runtime, version_number, author=actor.email,
            on_publish=lambda db, number: record(db, actor, "mapping.rollback", f"mapping version {number}", None,
                                                 {"restored": version_number}))
    except LookupError as exc:
        return json_error(404, str(exc))
    request_reproject(runtime, version)
    return jsonify(version=version), 202


@bp.post("/restore-default")
@admin_required
def restore_default():  # type: ignore[no-untyped-def]
    """Publish the default mapping again (`mappings.file`, else the built-in one) as a new version and re-project."""
    runtime = runtime_of(current_app)
    body = request.get_json(silent=True)
    comment = body.get("comment", "") if isinstance(body, dict) else ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        return json_error(400, f"comment: must be text of at most {MAX_COMMENT} characters")
    actor = current_user()
    version = mapping_store.restore_default(
        runtime, author=actor.email, comment=comment,
        on_publish=lambda db, number: record(db, actor, "mapping.restore_default", f"mapping version {number}",
                                             None, {"comment": comment}))
    job_id = request_reproject(runtime, version)
    return jsonify(version=version, job=job_id, progress_url="/api/v1/mapping/progress"), 202
