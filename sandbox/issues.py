"""Platform issue JSON (REST v2/v3 and webhook `issue`), built from a Request."""

from __future__ import annotations

from sandbox import catalog
from sandbox.json_shapes import Shapes, adf, jira_time
from sandbox.records import Request

# Fields a v2 `*navigable` answer carries; `comment` is added for `*all` (and in webhooks, like DC does).
NAVIGABLE = (
    "summary", "description", "issuetype", "project", "priority", "status", "resolution", "resolutiondate",
    "created", "updated", "reporter", "creator", "assignee", "labels", "components", "fixVersions",
    "versions", "environment", "duedate", "attachment", "watches", "votes", "progress", "aggregateprogress",
    "timetracking", "timespent", "timeestimate", "timeoriginalestimate", "aggregatetimespent",
    "aggregatetimeestimate", "aggregatetimeoriginalestimate", "workratio", "subtasks", "issuelinks",
    "security", "lastViewed", "worklog", catalog.CF_REQUEST_TYPE, catalog.CF_ORGANIZATIONS, catalog.CF_PARTICIPANTS,
    *(f.id for f in catalog.CUSTOM_FIELDS),
)


class IssueBuilder:
    """Turns requests into platform issues for one site (base URL, Cloud or DC)."""

    def __init__(self, shapes: Shapes, orgs: dict) -> None:
        self.s = shapes
        self.orgs = orgs

    def project(self, desk: catalog.ServiceDesk) -> dict:
        """Platform project reference."""
        b = self.s.base
        return {"self": f"{b}/rest/api/2/project/{desk.project_id}", "id": desk.project_id, "key": desk.key,
                "name": desk.name, "projectTypeKey": "service_desk",
                "avatarUrls": {f"{n}x{n}": f"{b}/secure/projectavatar?size={n}&pid={desk.project_id}"
                               for n in (48, 24, 16, 32)}}

    def issuetype(self, type_id: str) -> dict:
        """Platform issue type reference."""
        return {"self": f"{self.s.base}/rest/api/2/issuetype/{type_id}", "id": type_id, "description": "",
                "iconUrl": f"{self.s.base}/images/icons/issuetypes/{type_id}.svg",
                "name": catalog.ISSUE_TYPES[type_id], "subtask": False}

    def request_type_value(self, req: Request) -> dict:
        """Value of JSM's "Customer Request Type" custom field."""
        rt = catalog.REQUEST_TYPE_BY_ID[req.request_type_id]
        st = catalog.STATUS_BY_ID[req.status_id]
        b = self.s.base
        return {"_links": {"jiraRest": f"{b}/rest/api/2/issue/{req.id}",
                           "web": f"{b}/servicedesk/customer/portal/{req.desk_id}/{req.key}",
                           "self": f"{b}/rest/servicedeskapi/request/{req.id}"},
                "requestType": {"id": rt.id, "name": rt.name, "description": rt.description,
                                "issueTypeId": rt.issue_type_id, "serviceDeskId": rt.desk_id,
                                "portalId": rt.desk_id, "groupIds": []},
                "currentStatus": {"status": st.name, "statusCategory": st.category.key.upper(),
                                  "statusDate": {"jira": jira_time(req.status_changed_ms)}}}

    def all_fields(self, req: Request, v3: bool = False, with_comments: bool = True) -> dict:
        """Every field of the issue (v2 strings, or ADF in v3)."""
        s, b = self.s, self.s.base
        rt = catalog.REQUEST_TYPE_BY_ID[req.request_type_id]
        res = req.resolution_id
        f: dict = {
            "summary": req.summary,
            "description": adf(req.description) if v3 else req.description,
            "issuetype": self.issuetype(rt.issue_type_id),
            "project": self.project(catalog.DESK_BY_ID[req.desk_id]),
            "priority": s.priority(catalog.PRIORITY_BY_ID[req.priority_id]),
            "status": s.status(catalog.STATUS_BY_ID[req.status_id]),
            "resolution": None if res is None else {
                "self": f"{b}/rest/api/2/resolution/{res}", "id": res,
                "description": catalog.RESOLUTIONS[res][1], "name": catalog.RESOLUTIONS[res][0]},
            "resolutiondate": jira_time(req.resolved_ms) if req.resolved_ms else None,
            "created": jira_time(req.created_ms), "updated": jira_time(req.updated_ms),
            "reporter": s.user(req.reporter), "creator": s.user(req.reporter), "assignee": s.user(req.assignee),
            "labels": [], "components": [], "fixVersions": [], "versions": [], "environment": None,
            "duedate": None,
            "attachment": [{"self": f"{b}/rest/api/2/attachment/{a.id}", "id": str(a.id), "filename": a.filename,
                            "author": s.user(a.author), "created": jira_time(a.created_ms), "size": a.size,
                            "mimeType": a.mime_type, "content": f"{b}/secure/attachment/{a.id}/{a.filename}"}
                           for a in req.attachments],
            "watches": {"self": f"{b}/rest/api/2/issue/{req.key}/watchers", "watchCount": 1, "isWatching": False},
            "votes": {"self": f"{b}/rest/api/2/issue/{req.key}/votes", "votes": 0, "hasVoted": False},
            "progress": {"progress": 0, "total": 0}, "aggregateprogress": {"progress": 0, "total": 0},
            "timetracking": {}, "timespent": None, "timeestimate": None, "timeoriginalestimate": None,
            "aggregatetimespent": None, "aggregatetimeestimate": None, "aggregatetimeoriginalestimate": None,
            "workratio": -1, "subtasks": [], "issuelinks": [],
            "worklog": {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []},
            "security": None, "lastViewed": None,
            catalog.CF_REQUEST_TYPE: self.request_type_value(req),
            catalog.CF_ORGANIZATIONS: [{"id": int(o), "name": self.orgs[o].name,
                                        "_links": {"self": f"{b}/rest/servicedeskapi/organization/{o}"}}
                                       for o in req.org_ids if o in self.orgs],
            catalog.CF_PARTICIPANTS: [s.user(a) for a in req.participants],
        }
        for fd in catalog.CUSTOM_FIELDS:
            raw = req.custom.get(fd.id)
            if fd.kind == "select" and raw is not None:
                label = dict(fd.options).get(raw, raw)
                f[fd.id] = {"self": f"{b}/rest/api/2/customFieldOption/{raw}", "value": label, "id": raw}
            else:
                f[fd.id] = raw
        if s.cloud:
            f["statuscategorychangedate"] = jira_time(req.status_changed_ms)
        if with_comments:
            f["comment"] = s.comment_page(req.id, req.comments, v3=v3)
        return f

    def issue(self, req: Request, wanted: set[str] | None = None, excluded: frozenset[str] = frozenset(),
              v3: bool = False, expand: str = "") -> dict:
        """`IssueBean`: `wanted` None means all fields; an empty set means id/key only."""
        out: dict = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                     "id": str(req.id), "self": f"{self.s.base}/rest/api/{3 if v3 else 2}/issue/{req.id}",
                     "key": req.key}
        if wanted and wanted <= _QUICK.keys():
            # Hot path of searches asking for a few fields: build only those.
            out["fields"] = {k: _QUICK[k](self, req, v3) for k in wanted if k not in excluded}
        elif wanted is None or wanted:
            fields = self.all_fields(req, v3, with_comments=wanted is None or "comment" in wanted)
            if wanted is not None:
                fields = {k: v for k, v in fields.items() if k in wanted}
            out["fields"] = {k: v for k, v in fields.items() if k not in excluded}
        else:
            out["fields"] = {}
        if "changelog" in expand:
            out["changelog"] = self.changelog(req)
        return out

    def changelog(self, req: Request) -> dict:
        """Status history as a v2 `changelog` expansion (status items only)."""
        histories = []
        for (prev, _), (sid, ms) in zip(req.history, req.history[1:], strict=False):
            a, b2 = catalog.STATUS_BY_ID[prev], catalog.STATUS_BY_ID[sid]
            histories.append({"id": str(ms % 10_000_000), "author": self.s.user(req.assignee or req.reporter),
                              "created": jira_time(ms),
                              "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                                         "from": a.id, "fromString": a.name, "to": b2.id, "toString": b2.name}]})
        return {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}

    def trimmed(self, req: Request) -> dict:
        """The trimmed `issue` of Cloud `comment_*` webhooks."""
        full = self.issue(req, {"summary", "issuetype", "project", "assignee", "priority", "status"})
        return {"id": full["id"], "self": full["self"], "key": full["key"], "fields": full["fields"]}


_QUICK = {
    "summary": lambda b, r, v3: r.summary,
    "description": lambda b, r, v3: adf(r.description) if v3 else r.description,
    "status": lambda b, r, v3: b.s.status(catalog.STATUS_BY_ID[r.status_id]),
    "priority": lambda b, r, v3: b.s.priority(catalog.PRIORITY_BY_ID[r.priority_id]),
    "created": lambda b, r, v3: jira_time(r.created_ms),
    "updated": lambda b, r, v3: jira_time(r.updated_ms),
    "resolutiondate": lambda b, r, v3: jira_time(r.resolved_ms) if r.resolved_ms else None,
    "reporter": lambda b, r, v3: b.s.user(r.reporter),
    "assignee": lambda b, r, v3: b.s.user(r.assignee),
    "project": lambda b, r, v3: b.project(catalog.DESK_BY_ID[r.desk_id]),
    "issuetype": lambda b, r, v3: b.issuetype(catalog.REQUEST_TYPE_BY_ID[r.request_type_id].issue_type_id),
    catalog.CF_REQUEST_TYPE: lambda b, r, v3: b.request_type_value(r),
}


def parse_fields(param: str | None, default_all: bool) -> tuple[set[str] | None, frozenset[str]]:
    """Parse a `fields` parameter into (wanted or None for all, excluded)."""
    if not param:
        return (None if default_all else set()), frozenset()
    wanted: set[str] | None = set()
    excluded = set()
    for part in (p.strip() for p in param.split(",")):
        if not part:
            continue
        if part.startswith("-"):
            excluded.add(part[1:])
        elif part == "*all":
            wanted = None
        elif part == "*navigable":
            if wanted is not None:
                wanted |= set(NAVIGABLE)
        elif wanted is not None and part not in ("id", "key"):
            wanted.add(part)
    return wanted, frozenset(excluded)
