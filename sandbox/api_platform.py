"""`/rest/api/2|3/...`: search (Cloud enhanced and DC classic), issues, transitions, comments."""

from __future__ import annotations

import base64
from collections import OrderedDict

from flask import Blueprint, Response, g, jsonify, request

from sandbox import catalog
from sandbox.api_servicedesk import can_view
from sandbox.issues import parse_fields
from sandbox.jql import JqlError, parse
from sandbox.model import Request
from sandbox.web import ApiError, caller, json_body, sandbox

bp = Blueprint("platform", __name__, url_prefix="/rest/api/<any('2','3','latest'):ver>")
# Data Center's attachment download path lives outside /rest/api.
secure_bp = Blueprint("secure_attachment", __name__, url_prefix="/secure/attachment")
_CACHE_SIZE = 32


@bp.url_value_preprocessor
def _version(_endpoint, values):
    g.api_ver = values.pop("ver", "2")


def v3() -> bool:
    """True for `/rest/api/3` (rich text as ADF)."""
    return g.get("api_ver", "2") == "3"


def agent_issue(key: str) -> Request:
    """The issue if the caller is an agent who may see it, else 404 like Jira."""
    req = sandbox().state.get(key)
    if req is None or not caller().is_agent or not can_view(caller(), req):
        raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
    return req


def _matches(jql: str, bounded: bool) -> list[Request]:
    """All requests matching `jql` in its order; cached per state version so paging is O(page)."""
    sb, me = sandbox(), caller()
    cache: OrderedDict = sb.__dict__.setdefault("search_cache", OrderedDict())
    with sb.state.lock:
        ck = (jql, sb.state.version, me.is_agent)
        rows = cache.get(ck)
        if rows is None:
            try:
                q = parse(jql)
            except JqlError as exc:
                raise ApiError(400, str(exc)) from None
            if bounded and q.where is None:
                raise ApiError(400, "Unbounded JQL queries are not allowed here. "
                                    "Please add a search restriction to your query.")
            everything = sb.state.sorted_requests(q.order)
            where = q.where or (lambda r: True)
            rows = [r for r in everything if where(r)] if me.is_agent else []
            cache[ck] = rows
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
        return rows


def _search_params() -> dict:
    """Merge GET query parameters and a POST JSON body into one dict."""
    if request.method == "POST":
        body = json_body()
        if isinstance(body.get("fields"), list):
            body["fields"] = ",".join(body["fields"])
        if isinstance(body.get("expand"), list):
            body["expand"] = ",".join(body["expand"])
        return body
    return {k: request.args.get(k) for k in ("jql", "nextPageToken", "maxResults", "startAt", "fields", "expand")}


def _int(params: dict, name: str, default: int, maximum: int) -> int:
    try:
        value = int(params.get(name) if params.get(name) not in (None, "") else default)
    except (TypeError, ValueError):
        raise ApiError(400, f"The '{name}' parameter must be a number.") from None
    return max(0, min(value, maximum))


@bp.route("/search/jql", methods=["GET", "POST"])
def enhanced_search():
    sb = sandbox()
    if not sb.cloud:
        raise ApiError(404, "null for uri: /rest/api/2/search/jql")
    p = _search_params()
    wanted, excluded = parse_fields(p.get("fields"), default_all=False)
    # Like Cloud: up to 5000 ids per page, far fewer when fields are requested.
    cap = 5000 if wanted == set() else 100
    limit = _int(p, "maxResults", 50, cap) or cap
    token = p.get("nextPageToken")
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise ApiError(400, "The provided next page token is invalid or expired.") from None
    rows = _matches(p.get("jql") or "", bounded=True)
    chunk = rows[offset:offset + limit]
    with sb.state.lock:
        issues = [sb.issues.issue(r, wanted, excluded, v3(), p.get("expand") or "") for r in chunk]
    out: dict = {"issues": issues, "isLast": offset + len(chunk) >= len(rows)}
    if not out["isLast"]:
        out["nextPageToken"] = base64.urlsafe_b64encode(str(offset + len(chunk)).encode()).decode()
    return jsonify(out)


@bp.route("/search", methods=["GET", "POST"])
def classic_search():
    sb = sandbox()
    if sb.cloud:
        # Removed on Cloud (CHANGE-2046); clients must use /search/jql.
        raise ApiError(410, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
    p = _search_params()
    wanted, excluded = parse_fields(p.get("fields"), default_all=False)
    if not p.get("fields"):
        wanted = None  # DC's default is *navigable; *all is close enough here
    start, limit = _int(p, "startAt", 0, 10**9), _int(p, "maxResults", 50, 1000)
    rows = _matches(p.get("jql") or "", bounded=False)
    with sb.state.lock:
        issues = [sb.issues.issue(r, wanted, excluded, False, p.get("expand") or "") for r in rows[start:start + limit]]
    return jsonify({"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(rows),
                    "issues": issues})


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
        unknown = set(fields) - {"priority"}
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
                comment = (text if isinstance(text, str) else _adf_text(text), True)
        if "priority" in (body.get("fields") or {}):
            ref = body["fields"]["priority"] or {}
            sb.state.set_priority(req, catalog.priority_named(str(ref.get("id") or ref.get("name"))), me)
        sb.state.transition(req, targets[tid], me, comment)
    return Response(status=204)


def _adf_text(doc: object) -> str:
    """Plain text of an ADF document (v3 bodies)."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, dict):
        if doc.get("type") == "text":
            return str(doc.get("text", ""))
        parts = [_adf_text(c) for c in doc.get("content") or []]
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
        return Response(a.content, mimetype=a.mime_type,
                        headers={"Content-Disposition": f'attachment; filename="{a.filename}"'})
