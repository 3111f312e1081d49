"""`/rest/servicedeskapi/...`: site info, service desks, request types and their fields."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from sandbox import catalog
from sandbox.api.plumbing import ApiError, multi_arg, page, paging, require_experimental, sandbox
from sandbox.json_shapes import date_dto

bp = Blueprint("servicedesk_desks", __name__, url_prefix="/rest/servicedeskapi")


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
