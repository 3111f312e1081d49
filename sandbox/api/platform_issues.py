"""`/rest/api/2|3/issue...`: issues (read, edit, delete), transitions, changelog; attachment content (also DC's
`/secure/attachment/...`)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, jsonify, request, send_file

from sandbox import catalog
from sandbox.api.plumbing import ApiError, arg_int, caller, can_view, json_body, platform_blueprint, sandbox, v3
from sandbox.issues import parse_fields
from sandbox.records import Request

bp = platform_blueprint("platform_issues", __name__)
# Data Center's attachment download path lives outside /rest/api.
secure_bp = Blueprint("secure_attachment", __name__, url_prefix="/secure/attachment")


def agent_issue(key: str) -> Request:
    """The issue if the caller is an agent who may see it, else 404 like Jira."""
    req = sandbox().state.get(key)
    if req is None or not caller().is_agent or not can_view(caller(), req):
        raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
    return req


@bp.get("/issue/<key>")
def get_issue(key: str):
    sb = sandbox()
    wanted, excluded = parse_fields(request.args.get("fields"), default_all=True)
    with sb.state.lock:
        return jsonify(sb.issues.issue(agent_issue(key), wanted, excluded, v3(), request.args.get("expand") or ""))


@bp.put("/issue/<key>")
def edit_issue(key: str):
    sb, me = sandbox(), caller()
    fields = json_body().get("fields") or {}
    with sb.state.lock:
        req = agent_issue(key)
        if "priority" in fields:
            ref = fields["priority"] or {}
            try:
                prio = catalog.priority_named(str(ref.get("id") or ref.get("name")))
            except KeyError:
                raise ApiError(400, "", errors={"priority": "Specify a valid priority."}) from None
            if prio.id != req.priority_id:
                sb.state.set_priority(req, prio, me)
        if catalog.CF_ORGANIZATIONS in fields:
            # As on a real site: a list of organisation ids (numbers, strings or {"id"}); [] or null un-shares.
            refs = fields[catalog.CF_ORGANIZATIONS] or []
            if not isinstance(refs, list):
                raise ApiError(400, "", errors={catalog.CF_ORGANIZATIONS: "Expected a list of organisation ids."})
            ids = [str(r.get("id") if isinstance(r, dict) else r) for r in refs]
            missing = [i for i in ids if i not in sb.state.orgs]
            if missing:
                raise ApiError(400, "", errors={catalog.CF_ORGANIZATIONS: f"Organization {missing[0]} does not exist."})
            if ids != req.org_ids:
                sb.state.set_organisations(req, ids, me)
        unknown = set(fields) - {"priority", catalog.CF_ORGANIZATIONS}
        if unknown:
            raise ApiError(400, "", errors={f: "Field cannot be set in the stand-in JSM." for f in unknown})
    return Response(status=204)


@bp.delete("/issue/<key>")
def delete_issue(key: str):
    sb = sandbox()
    with sb.state.lock:
        sb.state.delete_request(agent_issue(key), caller())
    return Response(status=204)


def transition_dto(target: catalog.Status) -> dict:
    """`IssueTransition`."""
    name = catalog.AGENT_TRANSITION_NAMES[target.name]
    return {"id": catalog.AGENT_TRANSITION_IDS[target.name], "name": name, "to": sandbox().shapes.status(target),
            "hasScreen": False, "isGlobal": False, "isInitial": False, "isAvailable": True,
            "isConditional": False, "looped": False}


@bp.get("/issue/<key>/transitions")
def transitions(key: str):
    with sandbox().state.lock:
        req = agent_issue(key)
        targets = catalog.agent_targets(catalog.STATUS_BY_ID[req.status_id].name)
        tid = request.args.get("transitionId")
        return jsonify({"expand": "transitions", "transitions": [
            transition_dto(t) for t in targets if tid in (None, catalog.AGENT_TRANSITION_IDS[t.name])]})


@bp.post("/issue/<key>/transitions")
def do_transition(key: str):
    sb, me = sandbox(), caller()
    body = json_body()
    tid = str((body.get("transition") or {}).get("id", ""))
    with sb.state.lock:
        req = agent_issue(key)
        targets = {catalog.AGENT_TRANSITION_IDS[t.name]: t
                   for t in catalog.agent_targets(catalog.STATUS_BY_ID[req.status_id].name)}
        if tid not in targets:
            raise ApiError(400, f"Transition id '{tid}' is not valid for this issue.")
        comment = None
        for op in ((body.get("update") or {}).get("comment") or []):
            text = (op.get("add") or {}).get("body")
            if text:
                comment = (text if isinstance(text, str) else adf_text(text), True)
        if "priority" in (body.get("fields") or {}):
            ref = body["fields"]["priority"] or {}
            sb.state.set_priority(req, catalog.priority_named(str(ref.get("id") or ref.get("name"))), me)
        sb.state.transition(req, targets[tid], me, comment)
    return Response(status=204)


@bp.get("/issue/<key>/changelog")
def changelog(key: str):
    sb = sandbox()
    if not sb.cloud:
        raise ApiError(404, "null for uri: /rest/api/2/issue/changelog")
    start, limit = arg_int("startAt", 0), arg_int("maxResults", 100, 1, 100)
    with sb.state.lock:
        h = sb.issues.changelog(agent_issue(key))["histories"]
    chunk = h[start:start + limit]
    return jsonify({"self": request.base_url, "maxResults": limit, "startAt": start, "total": len(h),
                    "isLast": start + len(chunk) >= len(h), "values": chunk})


def adf_text(doc: object) -> str:
    """Plain text of an ADF document (v3 bodies)."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict):
        if doc.get("type") == "text":
            return str(doc.get("text", ""))
        parts = [adf_text(c) for c in doc.get("content") or []]
        return ("\n\n" if doc.get("type") == "doc" else "").join(parts)
    return ""


def _attachment_for_agent(attachment_id: str):
    """(request, attachment) if the caller is an agent who may see its request, else 404 like Jira."""
    sb, me = sandbox(), caller()
    for req in sb.state.requests.values():
        for a in req.attachments:
            if str(a.id) == attachment_id and me.is_agent and can_view(me, req):
                return req, a
    raise ApiError(404, "The attachment does not exist or you do not have permission to see it.")


@bp.get("/attachment/content/<attachment_id>")
@secure_bp.get("/<attachment_id>/<path:_filename>")
def attachment_content(attachment_id: str, _filename: str = ""):
    """The file's bytes (Cloud answers with a redirect to its media store; the stand-in serves them)."""
    with sandbox().state.lock:
        _, a = _attachment_for_agent(attachment_id)
        # send_file writes an RFC 6266 header (ASCII fallback + filename*), as Jira does for any name.
        name = "".join(ch for ch in a.filename if ch.isprintable()) or "attachment"
        return send_file(io.BytesIO(a.content), mimetype=a.mime_type, as_attachment=True, download_name=name,
                         conditional=False, etag=False)
