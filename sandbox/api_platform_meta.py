"""`/rest/api/2|3/...`: issue comments and their properties, changelog, statuses, priorities, fields, myself."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from sandbox import catalog
from sandbox.api_platform import _adf_text, agent_issue, v3
from sandbox.model import Comment, Request
from sandbox.serialize import jira_time
from sandbox.state import NotAllowed
from sandbox.web import ApiError, arg_int, caller, json_body, sandbox

bp = Blueprint("platform_meta", __name__, url_prefix="/rest/api/<any('2','3','latest'):ver>")
SD_PUBLIC = "sd.public.comment"


@bp.url_value_preprocessor
def _version(_endpoint, values):
    from flask import g

    g.api_ver = values.pop("ver", "2")


def _comment_of(req: Request, cid: str) -> Comment:
    for c in req.comments:
        if str(c.id) == cid:
            return c
    raise ApiError(404, "Can not find a comment for the id: " + cid + ".")


def _visibility(body: dict) -> bool | None:
    """Public flag from `properties: [{key: sd.public.comment, value: {internal: bool}}]`, else None."""
    for prop in body.get("properties") or []:
        if prop.get("key") == SD_PUBLIC:
            internal = (prop.get("value") or {}).get("internal")
            if not isinstance(internal, bool):
                raise ApiError(400, "", errors={"properties": "sd.public.comment internal must be a boolean."})
            return not internal
    return None


@bp.get("/issue/<key>/comment")
def comments(key: str):
    sb = sandbox()
    start, limit = arg_int("startAt", 0), arg_int("maxResults", 5000, 1, 5000)
    with_props = "properties" in (request.args.get("expand") or "")
    with sb.state.lock:
        req = agent_issue(key)
        return jsonify(sb.shapes.comment_page(req.id, req.comments, start, limit, v3(), with_props))


@bp.post("/issue/<key>/comment")
def add_comment(key: str):
    sb, me = sandbox(), caller()
    body = json_body()
    text = _adf_text(body.get("body"))
    if not text.strip():
        raise ApiError(400, "", errors={"comment": "Comment body can not be empty!"})
    public = _visibility(body)
    with sb.state.lock:
        req = agent_issue(key)
        try:
            # Without the property a platform comment is public (jsdPublic defaults to true).
            c = sb.state.add_comment(req, text, True if public is None else public, me)
        except NotAllowed as exc:
            raise ApiError(400, str(exc)) from None
        if public is None:
            c.properties.pop(SD_PUBLIC, None)
        return jsonify(sb.shapes.comment(req.id, c, v3(), with_properties=True)), 201


@bp.route("/issue/<key>/comment/<cid>", methods=["GET", "PUT", "DELETE"])
def one_comment(key: str, cid: str):
    sb, me = sandbox(), caller()
    with sb.state.lock:
        req = agent_issue(key)
        c = _comment_of(req, cid)
        if request.method == "DELETE":
            sb.state.delete_comment(req, c, me)
            return Response(status=204)
        if request.method == "PUT":
            body = json_body()
            text = _adf_text(body.get("body")) if "body" in body else None
            sb.state.update_comment(req, c, me, body=text, public=_visibility(body))
        return jsonify(sb.shapes.comment(req.id, c, v3()))


def _find_comment(cid: str) -> tuple[Request, Comment]:
    sb = sandbox()
    found = sb.state.comments.get(int(cid)) if cid.isdigit() else None
    if found is None or not caller().is_agent:
        raise ApiError(404, "Can not find a comment for the id: " + cid + ".")
    return found


@bp.get("/comment/<cid>/properties")
def property_keys(cid: str):
    sb = sandbox()
    with sb.state.lock:
        _, c = _find_comment(cid)
        return jsonify({"keys": [{"self": f"{sb.base_url}/rest/api/2/comment/{cid}/properties/{k}", "key": k}
                                 for k in c.properties]})


@bp.route("/comment/<cid>/properties/<prop>", methods=["GET", "PUT", "DELETE"])
def comment_property(cid: str, prop: str):
    sb, me = sandbox(), caller()
    with sb.state.lock:
        req, c = _find_comment(cid)
        if request.method == "GET":
            if prop not in c.properties:
                raise ApiError(404, f"The property with key '{prop}' does not exist.")
            return jsonify({"key": prop, "value": c.properties[prop]})
        if request.method == "DELETE":
            existed = c.properties.pop(prop, None) is not None
            if prop == SD_PUBLIC and existed and not c.public:
                sb.state.update_comment(req, c, me, public=True)
                c.properties.pop(SD_PUBLIC, None)
            return Response(status=204)
        value = request.get_json(silent=True)
        created = prop not in c.properties
        if prop == SD_PUBLIC:
            internal = value.get("internal") if isinstance(value, dict) else None
            if not isinstance(internal, bool):
                raise ApiError(400, "", errors={"value": "sd.public.comment needs {\"internal\": true|false}."})
            if internal == c.public:
                sb.state.update_comment(req, c, me, public=not internal)
        c.properties[prop] = value
        return Response(status=201 if created else 200)


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


@bp.get("/status")
def statuses():
    return jsonify([sandbox().shapes.status(s) for s in catalog.STATUSES])


@bp.get("/statuscategory")
def status_categories():
    cats = (catalog.CATEGORY_NEW, catalog.CATEGORY_INDETERMINATE, catalog.CATEGORY_DONE)
    return jsonify([sandbox().shapes.status_category(c) for c in cats])


@bp.get("/priority")
def priorities():
    sb = sandbox()
    return jsonify([{**sb.shapes.priority(p), "statusColor": p.color, "description": p.name}
                    for p in catalog.PRIORITIES])


@bp.get("/resolution")
def resolutions():
    base = sandbox().base_url
    return jsonify([{"self": f"{base}/rest/api/2/resolution/{rid}", "id": rid, "name": n, "description": d}
                    for rid, (n, d) in catalog.RESOLUTIONS.items()])


@bp.get("/field")
def fields():
    system = [("summary", "Summary", "string"), ("description", "Description", "string"),
              ("status", "Status", "status"), ("priority", "Priority", "priority"),
              ("resolution", "Resolution", "resolution"), ("created", "Created", "datetime"),
              ("updated", "Updated", "datetime"), ("reporter", "Reporter", "user"),
              ("assignee", "Assignee", "user"), ("issuetype", "Issue Type", "issuetype"),
              ("project", "Project", "project"), ("comment", "Comment", "comments-page"),
              ("attachment", "Attachment", "array")]
    out = [{"id": fid, "key": fid, "name": name, "custom": False, "orderable": True, "navigable": True,
            "searchable": True, "clauseNames": [fid], "schema": {"type": typ, "system": fid}}
           for fid, name, typ in system]
    custom = [(catalog.CF_REQUEST_TYPE, "Customer Request Type", "sd-customerrequesttype", "any"),
              (catalog.CF_ORGANIZATIONS, "Organizations", "sd-customer-organizations", "array"),
              (catalog.CF_PARTICIPANTS, "Request participants", "sd-request-participants", "array")]
    custom += [(f.id, f.name, "select" if f.kind == "select" else "textfield",
                "option" if f.kind == "select" else "string") for f in catalog.CUSTOM_FIELDS]
    for fid, name, kind, typ in custom:
        num = int(fid.split("_")[1])
        plugin = "com.atlassian.servicedesk" if kind.startswith("sd-") else \
            "com.atlassian.jira.plugin.system.customfieldtypes"
        out.append({"id": fid, "key": fid, "name": name, "custom": True, "orderable": True, "navigable": True,
                    "searchable": True, "clauseNames": [f"cf[{num}]", name],
                    "schema": {"type": typ, "custom": f"{plugin}:{kind}", "customId": num}})
    return jsonify(out)


@bp.get("/myself")
def myself():
    sb, me = sandbox(), caller()
    out = dict(sb.shapes.user(me) or {})
    out.update(locale="en_US", groups={"size": 1, "items": []}, applicationRoles={"size": 1, "items": []},
               expand="groups,applicationRoles")
    return jsonify(out)


@bp.get("/serverInfo")
def server_info():
    sb = sandbox()
    now = int(time.time() * 1000)
    return jsonify({"baseUrl": sb.base_url, "version": "1001.0.0-SNAPSHOT" if sb.cloud else "10.3.0",
                    "versionNumbers": [1001, 0, 0] if sb.cloud else [10, 3, 0],
                    "deploymentType": "Cloud" if sb.cloud else "Server", "buildNumber": 100280,
                    "buildDate": "2025-01-01T00:00:00.000+0000", "serverTime": jira_time(now),
                    "scmInfo": "sandbox", "serverTitle": "JSM stand-in"})
