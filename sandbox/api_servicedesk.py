"""`/rest/servicedeskapi/...`: service desks, request types, requests, comments, transitions."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox import catalog
from sandbox.model import Account, Request
from sandbox.serialize import date_dto
from sandbox.state import NotAllowed
from sandbox.web import ApiError, arg_bool, arg_int, caller, json_body, multi_arg, page, sandbox

bp = Blueprint("servicedeskapi", __name__, url_prefix="/rest/servicedeskapi")
MAX_LIMIT = 100


def paging(default: int = 50) -> tuple[int, int]:
    """`start` and `limit` query parameters (limit capped like the real server does)."""
    return arg_int("start", 0), arg_int("limit", default, 1, MAX_LIMIT)


def find_desk(ref: str) -> catalog.ServiceDesk:
    """A service desk by id, project key, `projectKey:X`, `projectId:N` or `serviceDeskId:N`."""
    kind, _, value = ref.rpartition(":")
    for d in catalog.SERVICE_DESKS:
        by_id = kind in ("", "serviceDeskId") and value == d.id
        by_key = kind in ("", "projectKey") and value.upper() == d.key
        if by_id or by_key or (kind == "projectId" and value == d.project_id):
            return d
    raise ApiError(404, f"The service desk with id {ref} does not exist.", "sd.servicedesk.error.not.found")


def find_request_type(desk: catalog.ServiceDesk, rt_id: str) -> catalog.RequestType:
    """A request type of `desk`, or 404."""
    rt = catalog.REQUEST_TYPE_BY_ID.get(str(rt_id))
    if rt is None or rt.desk_id != desk.id:
        raise ApiError(404, "The request type does not exist.", "sd.requesttype.error.not.found")
    return rt


def can_view(account: Account, req: Request) -> bool:
    """Agents see all; customers see own, participated and their organisations' requests."""
    if account.is_agent or req.reporter is account or account in req.participants:
        return True
    return any(o in account.org_ids for o in req.org_ids)


def visible_request(key: str) -> Request:
    """The request if the caller may see it; otherwise 404 (never 403: keys leak nothing)."""
    req = sandbox().state.get(key)
    if req is None or not can_view(caller(), req):
        raise ApiError(404, "Request does not exist or you do not have permission to see it.",
                       "sd.request.error.not.found")
    return req


def require_experimental() -> None:
    """Experimental operations answer 412 without `X-ExperimentalApi`."""
    if not request.headers.get("X-ExperimentalApi"):
        raise ApiError(412, "This is an experimental API. Send the header 'X-ExperimentalApi: opt-in'.",
                       "sd.experimental.api.header.missing")


@bp.get("/info")
def info():
    sb = sandbox()
    return jsonify({"version": "10.3.0", "platformVersion": "1001.0.0", "buildChangeSet": "sandbox",
                    "isLicensedForUse": True, "buildDate": date_dto(1_700_000_000_000),
                    "_links": {"self": sb.base_url + "/rest/servicedeskapi/info"}})


@bp.get("/servicedesk")
def service_desks():
    start, limit = paging()
    return jsonify(page(list(catalog.SERVICE_DESKS), start, limit, "/servicedesk", sandbox().sd.service_desk))


@bp.get("/servicedesk/<ref>")
def service_desk(ref: str):
    return jsonify(sandbox().sd.service_desk(find_desk(ref)))


@bp.get("/servicedesk/<ref>/requesttype")
def request_types(ref: str):
    desk = find_desk(ref)
    start, limit = paging()
    query = (request.args.get("searchQuery") or "").lower()
    types = [t for t in catalog.REQUEST_TYPES if t.desk_id == desk.id and query in t.name.lower()]
    with_fields = "field" in multi_arg("expand")
    return jsonify(page(types, start, limit, f"/servicedesk/{desk.id}/requesttype",
                        lambda t: sandbox().sd.request_type(t, with_fields)))


@bp.get("/requesttype")
def all_request_types():
    require_experimental()
    start, limit = paging()
    return jsonify(page(list(catalog.REQUEST_TYPES), start, limit, "/requesttype", sandbox().sd.request_type))


@bp.get("/servicedesk/<ref>/requesttype/<rt_id>")
def request_type(ref: str, rt_id: str):
    return jsonify(sandbox().sd.request_type(find_request_type(find_desk(ref), rt_id)))


@bp.get("/servicedesk/<ref>/requesttype/<rt_id>/field")
def request_type_fields(ref: str, rt_id: str):
    return jsonify(sandbox().sd.request_type_fields(find_request_type(find_desk(ref), rt_id)))


def _field_values(rt: catalog.RequestType, values: dict) -> tuple[str, str, str | None, dict[str, str]]:
    """Validate `requestFieldValues`; returns summary, description, priority id and custom values."""
    errors = {}
    custom: dict[str, str] = {}
    prio_id = None
    known = {f.id: f for f in rt.fields}
    for fid in values:
        if fid not in known:
            errors[fid] = f"Field '{fid}' is not part of the request type '{rt.name}'."
    for f in rt.fields:
        raw = values.get(f.id)
        if raw in (None, "", {}):
            if f.required:
                errors[f.id] = f"{f.name} is required."
            continue
        if f.kind == "priority":
            ref = raw.get("id") or raw.get("name") if isinstance(raw, dict) else raw
            try:
                prio_id = catalog.priority_named(str(ref)).id
            except KeyError:
                errors[f.id] = f"Priority '{ref}' does not exist."
        elif f.kind == "select":
            ref = (raw.get("id") or raw.get("value")) if isinstance(raw, dict) else raw
            match = [oid for oid, label in f.options if str(ref) in (oid, label)]
            if not match:
                errors[f.id] = f"Option '{ref}' is not valid for {f.name}."
            else:
                custom[f.id] = match[0]
        elif f.id.startswith("customfield_"):
            custom[f.id] = str(raw)
    if errors:
        raise ApiError(400, "; ".join(errors.values()), "sd.request.create.error.field.validation", errors)
    return str(values.get("summary")), str(values.get("description") or ""), prio_id, custom


@bp.post("/request")
def create_request():
    body = json_body()
    sb, me = sandbox(), caller()
    desk = find_desk(str(body.get("serviceDeskId", "")))
    rt = find_request_type(desk, str(body.get("requestTypeId", "")))
    values = body.get("requestFieldValues") or {}
    if not isinstance(values, dict):
        raise ApiError(400, "requestFieldValues must be an object.", "sd.request.create.error")
    summary, description, prio, custom = _field_values(rt, values)
    reporter = me
    if body.get("raiseOnBehalfOf"):
        if not me.is_agent:
            raise ApiError(403, "You do not have permission to raise requests on behalf of others.",
                           "sd.request.create.error.raiseonbehalfof")
        reporter = sb.state.find_account(str(body["raiseOnBehalfOf"]))
        if reporter is None:
            raise ApiError(400, f"The user '{body['raiseOnBehalfOf']}' does not exist.", "sd.user.not.found")
    with sb.state.lock:
        req = sb.state.create_request(desk.id, rt.id, summary, description, reporter, me, prio, custom)
        for ref in body.get("requestParticipants") or []:
            acc = sb.state.find_account(str(ref))
            if acc is not None and acc not in req.participants:
                req.participants.append(acc)  # part of the creation, so no separate webhook
        out = sb.sd.request(req, me, ["requestType", "serviceDesk"])
    return jsonify(out), 201


@bp.get("/request")
def list_requests():
    sb, me = sandbox(), caller()
    start, limit = paging()
    ownership = set(multi_arg("requestOwnership"))
    status_filter = request.args.get("requestStatus", "ALL_REQUESTS")
    desk_ref, rt_id = request.args.get("serviceDeskId"), request.args.get("requestTypeId")
    desk_id = find_desk(desk_ref).id if desk_ref else None
    org_id = request.args.get("organizationId")
    term = (request.args.get("searchTerm") or "").lower()
    expand = multi_arg("expand")

    def wanted(r: Request) -> bool:
        if not can_view(me, r) or (desk_id and r.desk_id != desk_id) or (rt_id and r.request_type_id != rt_id):
            return False
        done = catalog.STATUS_BY_ID[r.status_id].category is catalog.CATEGORY_DONE
        if (status_filter == "OPEN_REQUESTS" and done) or (status_filter == "CLOSED_REQUESTS" and not done):
            return False
        if term and term not in r.summary.lower():
            return False
        if ownership:
            own = ("OWNED_REQUESTS" in ownership and r.reporter is me) or \
                  ("PARTICIPATED_REQUESTS" in ownership and me in r.participants) or \
                  ("ALL_ORGANIZATIONS" in ownership and any(o in me.org_ids for o in r.org_ids)) or \
                  ("ORGANIZATION" in ownership and org_id in r.org_ids) or \
                  ("ALL_REQUESTS" in ownership and me.is_agent)
            return own
        return True

    with sb.state.lock:
        # "Ordered chronologically by the latest activity": newest update first.
        rows = [r for r in sb.state.sorted_requests((("updated", True),)) if wanted(r)]
        return jsonify(page(rows, start, limit, "/request", lambda r: sb.sd.request(r, me, expand)))


@bp.get("/request/<key>")
def get_request(key: str):
    sb = sandbox()
    with sb.state.lock:
        return jsonify(sb.sd.request(visible_request(key), caller(), multi_arg("expand")))


@bp.get("/request/<key>/status")
def status_history(key: str):
    sb = sandbox()
    start, limit = paging()
    with sb.state.lock:
        req = visible_request(key)
        return jsonify(page(sb.sd.status_history(req), start, limit, f"/request/{req.id}/status"))


@bp.get("/request/<key>/comment")
def comments(key: str):
    sb, me = sandbox(), caller()
    start, limit = paging()
    public, internal = arg_bool("public", True), arg_bool("internal", True)
    expand = multi_arg("expand")
    with sb.state.lock:
        req = visible_request(key)
        # Customers never see internal comments, whatever the filters say.
        rows = [c for c in req.comments
                if (c.public and public) or (not c.public and internal and me.is_agent)]
        return jsonify(page(rows, start, limit, f"/request/{req.id}/comment",
                            lambda c: sb.sd.comment(req, c, expand)))


@bp.get("/request/<key>/comment/<cid>")
def comment(key: str, cid: str):
    sb, me = sandbox(), caller()
    with sb.state.lock:
        req = visible_request(key)
        for c in req.comments:
            if str(c.id) == cid and (c.public or me.is_agent):
                return jsonify(sb.sd.comment(req, c, multi_arg("expand")))
    raise ApiError(404, "Comment does not exist.", "sd.comment.error.not.found")


@bp.post("/request/<key>/comment")
def add_comment(key: str):
    sb, me = sandbox(), caller()
    body = json_body()
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "The comment body must not be empty.", "sd.comment.error.empty")
    public = body.get("public", True) is not False
    if not public and not me.is_agent:
        raise ApiError(400, "Customers can set comments to public visibility only.", "sd.comment.error.internal")
    with sb.state.lock:
        req = visible_request(key)
        try:
            c = sb.state.add_comment(req, text, public, me)
        except NotAllowed as exc:
            raise ApiError(400, str(exc), "sd.comment.error.closed") from None
        return jsonify(sb.sd.comment(req, c)), 201


@bp.get("/request/<key>/transition")
def customer_transitions(key: str):
    sb = sandbox()
    start, limit = paging()
    with sb.state.lock:
        req = visible_request(key)
        offered = catalog.customer_transitions(catalog.STATUS_BY_ID[req.status_id].name)
        return jsonify(page(list(offered), start, limit, f"/request/{req.id}/transition",
                            lambda t: {"id": t.id, "name": t.name}))


@bp.post("/request/<key>/transition")
def perform_customer_transition(key: str):
    sb, me = sandbox(), caller()
    body = json_body()
    comment_body = (body.get("additionalComment") or {}).get("body")
    with sb.state.lock:
        req = visible_request(key)
        offered = {t.id: t for t in catalog.customer_transitions(catalog.STATUS_BY_ID[req.status_id].name)}
        t = offered.get(str(body.get("id")))
        if t is None:
            raise ApiError(400, f"The transition {body.get('id')} is not valid for this request.",
                           "sd.request.transition.error.invalid")
        comment = (comment_body, True) if isinstance(comment_body, str) and comment_body.strip() else None
        sb.state.transition(req, catalog.status_named(t.to), me, comment)
    return Response(status=204)
