"""`/rest/servicedeskapi/request...`: create, list and read requests; status, comments, transitions, feedback, SLA."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox import catalog
from sandbox.api.plumbing import (
    ApiError,
    agents_only,
    arg_bool,
    caller,
    can_view,
    json_body,
    multi_arg,
    page,
    paging,
    sandbox,
)
from sandbox.api.servicedesk_desks import find_desk, find_request_type
from sandbox.records import Request
from sandbox.state import NotAllowed

bp = Blueprint("servicedesk_requests", __name__, url_prefix="/rest/servicedeskapi")


def visible_request(key: str) -> Request:
    """The request if the caller may see it; otherwise 404 (never 403: keys leak nothing)."""
    req = sandbox().state.get(key)
    if req is None or not can_view(caller(), req):
        raise ApiError(404, "Request does not exist or you do not have permission to see it.",
                       "sd.request.error.not.found")
    return req


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


@bp.get("/request/<key>/feedback")
def get_feedback(key: str):
    with sandbox().state.lock:
        fb = visible_request(key).feedback
        if not fb:
            raise ApiError(404, "No feedback was found for this request.", "sd.feedback.error.not.found")
        return jsonify({"type": "csat", "rating": fb["rating"], "comment": {"body": fb.get("comment", "")}})


@bp.post("/request/<key>/feedback")
def post_feedback(key: str):
    body = json_body()
    rating = body.get("rating")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ApiError(400, "The rating must be a number from 1 to 5.", "sd.feedback.error.rating")
    text = (body.get("comment") or {}).get("body") or ""
    with sandbox().state.lock:
        req = visible_request(key)
        if catalog.STATUS_BY_ID[req.status_id].category is not catalog.CATEGORY_DONE:
            raise ApiError(400, "Feedback can only be given for a resolved request.", "sd.feedback.error.open")
        req.feedback = {"rating": rating, "comment": text}
    return jsonify({"type": "csat", "rating": rating, "comment": {"body": text}}), 201


@bp.delete("/request/<key>/feedback")
def delete_feedback(key: str):
    with sandbox().state.lock:
        visible_request(key).feedback = None
    return Response(status=204)


@bp.get("/request/<key>/sla")
def sla(key: str):
    agents_only()
    sb = sandbox()
    start, limit = paging()
    with sb.state.lock:
        req = visible_request(key)
        return jsonify(page(sb.sd.sla(req), start, limit, f"/request/{req.id}/sla"))


@bp.get("/request/<key>/sla/<metric>")
def sla_metric(key: str, metric: str):
    agents_only()
    sb = sandbox()
    with sb.state.lock:
        for m in sb.sd.sla(visible_request(key)):
            if m["id"] == metric:
                return jsonify(m)
    raise ApiError(404, "The SLA metric does not exist.", "sd.sla.error.not.found")
