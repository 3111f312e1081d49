"""`/rest/servicedeskapi/...`: temporary file uploads and request attachments."""

from __future__ import annotations

import itertools

from flask import Blueprint, jsonify, request

from sandbox.api.plumbing import ApiError, caller, json_body, page, paging, require_experimental, sandbox
from sandbox.api.servicedesk_desks import find_desk
from sandbox.api.servicedesk_requests import visible_request

bp = Blueprint("servicedesk_attachments", __name__, url_prefix="/rest/servicedeskapi")
MAX_FILE_BYTES = 10 * 1024 * 1024
_temp_ids = itertools.count(8186986881700442965)


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
