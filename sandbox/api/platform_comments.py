"""`/rest/api/2|3/...`: issue comments and comment properties (`sd.public.comment` visibility)."""

from __future__ import annotations

from flask import Response, jsonify, request

from sandbox.api.platform_issues import adf_text, agent_issue
from sandbox.api.plumbing import ApiError, arg_int, caller, json_body, platform_blueprint, sandbox, v3
from sandbox.records import Comment, Request
from sandbox.state import NotAllowed

bp = platform_blueprint("platform_comments", __name__)


SD_PUBLIC = "sd.public.comment"


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
    text = adf_text(body.get("body"))
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
            text = adf_text(body.get("body")) if "body" in body else None
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
