"""`/rest/servicedeskapi/...`: feedback, SLA, participants, organisations, customers, attachments."""

from __future__ import annotations

import hashlib
import itertools

from flask import Blueprint, Response, jsonify, request

from sandbox import catalog
from sandbox.api_servicedesk import find_desk, paging, require_experimental, visible_request
from sandbox.model import Account
from sandbox.web import ApiError, caller, json_body, page, sandbox

bp = Blueprint("servicedeskapi_extra", __name__, url_prefix="/rest/servicedeskapi")
MAX_FILE_BYTES = 10 * 1024 * 1024
_temp_ids = itertools.count(8186986881700442965)


def agents_only() -> None:
    """403 for customers on agent operations."""
    if not caller().is_agent:
        raise ApiError(403, "You do not have permission to perform this operation.", "sd.permission.denied")


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


def _accounts(body: dict) -> list[Account]:
    refs = list(body.get("accountIds") or []) + list(body.get("usernames") or [])
    found = [sandbox().state.find_account(str(r)) for r in refs]
    if any(a is None for a in found):
        raise ApiError(400, "One or more users do not exist.", "sd.user.not.found")
    return found  # type: ignore[return-value]


@bp.route("/request/<key>/participant", methods=["GET", "POST", "DELETE"])
def participants(key: str):
    sb, me = sandbox(), caller()
    start, limit = paging()
    with sb.state.lock:
        req = visible_request(key)
        if request.method != "GET":
            change = _accounts(json_body())
            now = [a for a in req.participants if a not in change]
            if request.method == "POST":
                now = req.participants + [a for a in change if a not in req.participants]
            if now != req.participants:
                sb.state.set_participants(req, now, me)
        return jsonify(page(req.participants, start, limit, f"/request/{req.id}/participant", sb.shapes.sd_user))


@bp.get("/organization")
def organizations():
    sb, me = sandbox(), caller()
    start, limit = paging()
    with sb.state.lock:
        orgs = [o for o in sb.state.orgs.values() if me.is_agent or o.id in me.org_ids]
        return jsonify(page(orgs, start, limit, "/organization", sb.sd.organization))


@bp.get("/organization/<org_id>")
def organization(org_id: str):
    sb, me = sandbox(), caller()
    org = sb.state.orgs.get(org_id)
    if org is None or not (me.is_agent or org_id in me.org_ids):
        raise ApiError(404, "The organization does not exist.", "sd.organization.error.not.found")
    return jsonify(sb.sd.organization(org))


@bp.route("/organization/<org_id>/user", methods=["GET", "POST"])
def organization_users(org_id: str):
    agents_only()
    sb = sandbox()
    if org_id not in sb.state.orgs:
        raise ApiError(404, "The organization does not exist.", "sd.organization.error.not.found")
    with sb.state.lock:
        if request.method == "POST":
            for a in _accounts(json_body()):
                if org_id not in a.org_ids:
                    a.org_ids.append(org_id)
            return Response(status=204)
        start, limit = paging()
        users = [a for a in sb.state.accounts.values() if org_id in a.org_ids]
        return jsonify(page(users, start, limit, f"/organization/{org_id}/user", sb.shapes.sd_user))


@bp.get("/servicedesk/<ref>/organization")
def desk_organizations(ref: str):
    sb, me = sandbox(), caller()
    desk = find_desk(ref)
    start, limit = paging()
    orgs = [o for o in sb.state.orgs.values() if desk.id in o.desk_ids and (me.is_agent or o.id in me.org_ids)]
    return jsonify(page(orgs, start, limit, f"/servicedesk/{desk.id}/organization", sb.sd.organization))


@bp.get("/servicedesk/<ref>/customer")
def customers(ref: str):
    require_experimental()
    agents_only()
    sb = sandbox()
    desk = find_desk(ref)
    start, limit = paging()
    q = (request.args.get("query") or "").lower()
    with sb.state.lock:
        rows = [a for a in sb.state.accounts.values() if a.kind == "customer"
                and (q in a.display_name.lower() or q in a.email.lower() or q in a.name.lower())]
        return jsonify(page(rows, start, limit, f"/servicedesk/{desk.id}/customer", sb.shapes.sd_user))


@bp.post("/servicedesk/<ref>/customer")
def add_customers(ref: str):
    find_desk(ref)
    _accounts(json_body())  # every customer may use every desk here; only validate
    return Response(status=204)


@bp.post("/customer")
def create_customer():
    agents_only()
    sb = sandbox()
    body = json_body()
    email = str(body.get("email") or "").strip()
    name = str(body.get("displayName") or body.get("fullName") or "").strip()
    if "@" not in email or not name:
        raise ApiError(400, "Both email and displayName are required.", "sd.customer.create.error")
    with sb.state.lock:
        if email.lower() in sb.state.by_email:
            status = 409 if request.args.get("strictConflictStatusCode") == "true" else 400
            raise ApiError(status, "An account already exists for this email.", "sd.customer.create.conflict")
        acc_id = "qm:" + hashlib.sha1(email.lower().encode()).hexdigest()[:24]
        acc = sb.state.add_account(Account(acc_id, email, name, "customer", email.split("@")[0]))
        return jsonify(sb.shapes.sd_user(acc)), 201


@bp.post("/servicedesk/<ref>/attachTemporaryFile")
def attach_temporary_file(ref: str):
    require_experimental()
    if request.headers.get("X-Atlassian-Token", "").lower() != "no-check":
        raise ApiError(403, "XSRF check failed", "sd.xsrf.check.failed")
    find_desk(ref)
    files = request.files.getlist("file")
    if not files:
        raise ApiError(400, "No file was sent in the multipart field 'file'.", "sd.attachment.error.nofile")
    out = []
    sb = sandbox()
    for f in files:
        content = f.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            raise ApiError(413, "The file is too large.", "sd.attachment.error.toolarge")
        temp_id = f"temp{next(_temp_ids)}"
        with sb.state.lock:
            sb.state.temp_files[temp_id] = (f.filename or "file", f.mimetype or "application/octet-stream", content)
        out.append({"temporaryAttachmentId": temp_id, "fileName": f.filename or "file"})
    return jsonify({"temporaryAttachments": out}), 201


@bp.get("/request/<key>/attachment")
def list_attachments(key: str):
    sb = sandbox()
    start, limit = paging()
    with sb.state.lock:
        req = visible_request(key)
        # Customer-visible attachments only, as JSM lists them (internal ones are in `fields.attachment`).
        shown = [a for a in req.attachments if a.public]
        return jsonify(page(shown, start, limit, f"/request/{req.id}/attachment",
                            lambda a: sb.sd.attachment(req, a)))


@bp.post("/request/<key>/attachment")
def add_attachments(key: str):
    sb, me = sandbox(), caller()
    body = json_body()
    ids = body.get("temporaryAttachmentIds") or []
    public = body.get("public", True) is not False
    if not public and not me.is_agent:
        raise ApiError(400, "Customers can set attachments to public visibility only.", "sd.attachment.error")
    text = (body.get("additionalComment") or {}).get("body")
    with sb.state.lock:
        req = visible_request(key)
        if not ids or any(i not in sb.state.temp_files for i in ids):
            raise ApiError(400, "Unknown or expired temporary attachment id.", "sd.attachment.error.temp")
        added = sb.state.add_attachments(req, [sb.state.temp_files.pop(i) for i in ids], me, public)
        out: dict = {"attachments": sb.sd._page([sb.sd.attachment(req, a) for a in added])}
        if isinstance(text, str) and text.strip():
            out["comment"] = sb.sd.comment(req, sb.state.add_comment(req, text, public, me))
        return jsonify(out), 201
