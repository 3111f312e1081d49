"""`/rest/servicedeskapi/...`: request participants, organisations and their users, customers."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, jsonify, request

from sandbox.api.plumbing import ApiError, agents_only, caller, json_body, page, paging, require_experimental, sandbox
from sandbox.api.servicedesk_desks import find_desk
from sandbox.api.servicedesk_requests import visible_request
from sandbox.records import Account

bp = Blueprint("servicedesk_customers", __name__, url_prefix="/rest/servicedeskapi")


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
