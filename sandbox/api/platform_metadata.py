"""`/rest/api/2|3/...`: statuses, status categories, priorities, resolutions, fields, myself, server info."""

from __future__ import annotations

import time

from flask import jsonify

from sandbox import catalog
from sandbox.api.plumbing import caller, platform_blueprint, sandbox
from sandbox.json_shapes import jira_time

bp = platform_blueprint("platform_metadata", __name__)


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
