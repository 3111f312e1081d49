"""`/_sandbox/...`: control endpoints (not JSM) that drive the stand-in like agents and customers would."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, jsonify, request

from sandbox import catalog, sla
from sandbox.api.plumbing import ApiError, sandbox
from sandbox.records import Account, Request
from sandbox.state import NotAllowed

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _actor(body: dict, default: Account | None) -> Account:
    """`"as": email|accountId` picks who acts; otherwise the default (an agent for agent actions)."""
    ref = body.get("as")
    acc = sandbox().state.find_account(ref) if ref else default
    if acc is None:
        raise ApiError(400, f"unknown account {ref!r}")
    return acc


def _request(key: str) -> Request:
    req = sandbox().state.get(key)
    if req is None:
        raise ApiError(404, f"no request {key}")
    return req


def summary(req: Request) -> dict:
    """What a mirror is compared against, for one request."""
    return {"key": req.key, "id": str(req.id), "status": catalog.STATUS_BY_ID[req.status_id].name,
            "status_id": req.status_id, "priority": catalog.PRIORITY_BY_ID[req.priority_id].name,
            "priority_id": req.priority_id, "updated": req.updated_ms, "deleted": False,
            "public_comments": [{"id": str(c.id), "body": c.body} for c in req.comments if c.public],
            "internal_comment_ids": [str(c.id) for c in req.comments if not c.public]}


@bp.post("/requests/<key>/transition")
def transition(key: str):
    sb, body = sandbox(), _body()
    try:
        target = catalog.status_named(str(body.get("status", "")))
    except KeyError:
        names = [s.name for s in catalog.STATUSES]
        raise ApiError(400, f"unknown status {body.get('status')!r}; one of {names}") from None
    with sb.state.lock:
        req = _request(key)
        comment = (body["comment"], bool(body.get("public", True))) if body.get("comment") else None
        # A direct move (like an admin's global transition): one webhook, whatever the workflow graph says.
        sb.state.transition(req, target, _actor(body, sb.state.agent), comment)
        return jsonify(summary(req))


@bp.post("/requests/<key>/comment")
def comment(key: str):
    sb, body = sandbox(), _body()
    text = body.get("body")
    if not isinstance(text, str) or not text:
        raise ApiError(400, "body is required")
    with sb.state.lock:
        req = _request(key)
        try:
            c = sb.state.add_comment(req, text, bool(body.get("public", True)), _actor(body, sb.state.agent))
        except NotAllowed as exc:
            raise ApiError(400, str(exc)) from None
        return jsonify({"id": str(c.id), "key": req.key, "public": c.public}), 201


@bp.post("/requests/<key>/attachment")
def attachment(key: str):
    """Attach a file as an agent would: `{"filename", "content" (text) or "content_b64", "mime_type", "public"}`."""
    sb, body = sandbox(), _body()
    name = body.get("filename")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "filename is required")
    try:
        content = (base64.b64decode(body["content_b64"]) if "content_b64" in body
                   else str(body.get("content") or "").encode())
    except (ValueError, TypeError):
        raise ApiError(400, "content_b64 is not base64") from None
    mime = str(body.get("mime_type") or "application/octet-stream")
    with sb.state.lock:
        req = _request(key)
        added = sb.state.add_attachments(req, [(name, mime, content)], _actor(body, sb.state.agent),
                                         bool(body.get("public", True)))
        return jsonify({"id": str(added[0].id), "key": req.key, "public": added[0].public}), 201


@bp.post("/requests/<key>/priority")
def priority(key: str):
    sb, body = sandbox(), _body()
    try:
        prio = catalog.priority_named(str(body.get("priority", "")))
    except KeyError:
        raise ApiError(400, f"unknown priority {body.get('priority')!r}") from None
    with sb.state.lock:
        req = _request(key)
        sb.state.set_priority(req, prio, _actor(body, sb.state.agent))
        return jsonify(summary(req))


@bp.delete("/requests/<key>")
def delete(key: str):
    sb = sandbox()
    with sb.state.lock:
        sb.state.delete_request(_request(key), _actor(_body(), sb.state.agent))
    return Response(status=204)


@bp.post("/requests")
def create():
    """Raise a request as a customer would from the portal (the reporter is the acting user)."""
    sb, body = sandbox(), _body()
    with sb.state.lock:
        customers = [a for a in sb.state.accounts.values() if a.kind == "customer"]
        reporter = sb.state.find_account(body.get("reporter") or body.get("as")) if (
            body.get("reporter") or body.get("as")) else (customers[0] if customers else sb.state.admin)
        if reporter is None:
            raise ApiError(400, f"unknown reporter {body.get('reporter')!r}")
        rt_ref = str(body.get("request_type") or body.get("requestTypeId") or "11")
        rt = catalog.REQUEST_TYPE_BY_ID.get(rt_ref) or next(
            (t for t in catalog.REQUEST_TYPES if t.name.lower() == rt_ref.lower()), None)
        if rt is None:
            raise ApiError(400, f"unknown request type {rt_ref!r}")
        prio = catalog.priority_named(body["priority"]).id if body.get("priority") else None
        custom = {k: str(v) for k, v in (body.get("fields") or {}).items()}
        for f in rt.fields:
            if f.kind == "select" and f.required and f.id not in custom:
                custom[f.id] = f.options[0][0]
        req = sb.state.create_request(rt.desk_id, rt.id, str(body.get("summary") or "Request from the sandbox"),
                                      str(body.get("description") or ""), reporter, reporter, prio, custom)
        return jsonify(summary(req)), 201


@bp.post("/reset")
def reset():
    sb = sandbox()
    seed = str(_body().get("seed") or "demo")
    sb.sender.flush(timeout=5)
    try:
        took = sb.reseed(seed)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    sb.__dict__.pop("search_cache", None)
    return jsonify({"seed": seed, "seconds": round(took, 3), "requests": len(sb.state.requests)})


@bp.post("/clock")
def clock():
    """Move the stand-in's clock forward: `{"offset_hours": N}` (N ≥ 0), for SLA and automatic-rule tests."""
    hours = _body().get("offset_hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours <= 24 * 3660:
        raise ApiError(400, "offset_hours must be a number of hours from 0 to 87840 (the clock only moves forward)")
    sb = sandbox()
    now = sb.state.move_clock(float(hours))
    return jsonify({"now": sla.now_iso(now), "epoch_ms": now, "offset_hours": sb.state.offset_ms / 3_600_000})


@bp.get("/state")
def state():
    sb = sandbox()
    with sb.state.lock:
        reqs = list(sb.state.requests.values())
        out = {"seed": sb.state.seed_name, "deployment": sb.deployment, "version": sb.state.version,
               "counts": {"requests": len(reqs), "deleted": len(sb.state.deleted),
                          "comments": sum(len(r.comments) for r in reqs),
                          "public_comments": sum(1 for r in reqs for c in r.comments if c.public),
                          "organizations": len(sb.state.orgs), "accounts": len(sb.state.accounts),
                          "webhooks_pending": sb.sender.pending()},
               "faults": sb.faults.config}
        if request.args.get("requests", "1") not in ("0", "false"):
            out["requests"] = {r.key: summary(r) for r in reqs}
            for key, info in sb.state.deleted.items():
                out["requests"].setdefault(key, {"key": key, "deleted": True, "status": info["status"]})
        return jsonify(out)


@bp.post("/faults")
def faults():
    try:
        return jsonify(sandbox().faults.configure(_body()))
    except (ValueError, TypeError) as exc:
        raise ApiError(400, str(exc)) from None


@bp.post("/webhooks/flush")
def flush():
    sb = sandbox()
    drained = sb.sender.flush(timeout=float(_body().get("timeout", 10)))
    return jsonify({"drained": drained, "pending": sb.sender.pending()}), (200 if drained else 504)


@bp.get("/webhooks")
def webhook_log():
    return jsonify({"deliveries": list(sandbox().sender.log)[-int(request.args.get("limit", 200)):]})


@bp.post("/webhooks/config")
def webhook_config():
    body = _body()
    sandbox().sender.configure(body.get("url"), body.get("secret"))
    return jsonify({"url": body.get("url"), "signed": bool(body.get("secret"))})
