"""servicedeskapi DTOs (CustomerRequestDTO, CommentDTO, RequestTypeDTO, SLA ...) built from state records."""

from __future__ import annotations

import time
from collections.abc import Callable

from sandbox import catalog, sla
from sandbox.json_shapes import Shapes, date_dto
from sandbox.records import Account, Attachment, Comment, Organization, Request

REQUEST_EXPANDS = ["participant", "status", "sla", "requestType", "serviceDesk", "attachment", "action", "comment"]


class SdRenderer:
    """Renders servicedeskapi objects for one site."""

    def __init__(self, shapes: Shapes) -> None:
        self.s = shapes
        self.api = f"{shapes.base}/rest/servicedeskapi"
        # The stand-in's clock (moved by `/_sandbox/clock`); the site wires in its state's.
        self.now_ms: Callable[[], int] = lambda: int(time.time() * 1000)

    def service_desk(self, d: catalog.ServiceDesk) -> dict:
        """`ServiceDeskDTO`."""
        return {"id": d.id, "projectId": d.project_id, "projectKey": d.key, "projectName": d.name,
                "_links": {"self": f"{self.api}/servicedesk/{d.id}"}}

    def request_type(self, rt: catalog.RequestType, with_fields: bool = False) -> dict:
        """`RequestTypeDTO` (`expand=field` adds its create meta)."""
        link = f"{self.api}/servicedesk/{rt.desk_id}/requesttype/{rt.id}"
        out = {"_expands": ["field"], "id": rt.id, "_links": {"self": link},
               "name": rt.name, "description": rt.description, "helpText": "", "issueTypeId": rt.issue_type_id,
               "serviceDeskId": rt.desk_id, "portalId": rt.desk_id, "groupIds": [f"{rt.desk_id}0"],
               "icon": {"id": "10500", "_links": {"iconUrls": {"48x48": f"{self.s.base}/icons/rt{rt.id}.png"}}}}
        if with_fields:
            out["fields"] = self.request_type_fields(rt)
        return out

    def request_type_fields(self, rt: catalog.RequestType) -> dict:
        """`CustomerRequestCreateMetaDTO`."""
        fields = []
        for f in rt.fields:
            if f.kind == "priority":
                valid = [{"value": p.id, "label": p.name, "children": []} for p in catalog.PRIORITIES]
                schema = {"type": "priority", "system": "priority"}
            elif f.kind == "select":
                valid = [{"value": oid, "label": label, "children": []} for oid, label in f.options]
                schema = {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
                          "customId": int(f.id.split("_")[1])}
            else:
                valid = []
                schema = {"type": "string", "system": f.id} if not f.id.startswith("customfield_") else {
                    "type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
                    "customId": int(f.id.split("_")[1])}
            fields.append({"fieldId": f.id, "name": f.name, "description": "", "required": f.required,
                           "defaultValues": [], "validValues": valid, "presetValues": [], "jiraSchema": schema,
                           "visible": True})
        return {"requestTypeFields": fields, "canRaiseOnBehalfOf": True, "canAddRequestParticipants": True}

    def current_status(self, req: Request) -> dict:
        """`CustomerRequestStatusDTO` of the current status."""
        st = catalog.STATUS_BY_ID[req.status_id]
        return {"status": st.name, "statusCategory": st.category.key.upper(),
                "statusDate": date_dto(req.history[-1][1])}

    def status_history(self, req: Request) -> list[dict]:
        """Status history, newest first (as documented and in Atlassian's example)."""
        out = []
        for sid, ms in reversed(req.history):
            st = catalog.STATUS_BY_ID[sid]
            out.append({"status": st.name, "statusCategory": st.category.key.upper(), "statusDate": date_dto(ms)})
        return out

    def field_values(self, req: Request) -> list[dict]:
        """`requestFieldValues` for the fields of the request type."""
        rt = catalog.REQUEST_TYPE_BY_ID[req.request_type_id]
        out = []
        for f in rt.fields:
            if f.id == "summary":
                out.append({"fieldId": "summary", "label": f.name, "value": req.summary})
            elif f.id == "description":
                out.append({"fieldId": "description", "label": f.name, "value": req.description,
                            "renderedValue": {"html": f"<p>{_html(req.description)}</p>"}})
            elif f.kind == "priority":
                p = catalog.PRIORITY_BY_ID[req.priority_id]
                out.append({"fieldId": "priority", "label": f.name, "value": {"id": p.id, "name": p.name}})
            elif f.id in req.custom:
                raw = req.custom[f.id]
                value = {"id": raw, "value": dict(f.options).get(raw, raw)} if f.kind == "select" else raw
                out.append({"fieldId": f.id, "label": f.name, "value": value})
        return out

    def comment(self, req: Request, c: Comment, expand: list[str] = ()) -> dict:
        """`CommentDTO`."""
        out = {"_expands": ["attachment", "renderedBody"], "id": str(c.id), "body": c.body, "public": c.public,
               "author": self.s.sd_user(c.author), "created": date_dto(c.created_ms),
               "_links": {"self": f"{self.api}/request/{req.id}/comment/{c.id}"}}
        if "renderedBody" in expand:
            out["renderedBody"] = {"html": f"<p>{_html(c.body)}</p>"}
        if "attachment" in expand:
            out["attachments"] = self._page([])
        return out

    def attachment(self, req: Request, a: Attachment) -> dict:
        """`AttachmentDTO`."""
        return {"filename": a.filename, "author": self.s.sd_user(a.author), "created": date_dto(a.created_ms),
                "size": a.size, "mimeType": a.mime_type,
                "_links": {"self": f"{self.api}/request/{req.id}/attachment/{a.id}",
                           "jiraRest": f"{self.s.base}/rest/api/2/attachment/{a.id}",
                           "content": f"{self.s.base}/secure/attachment/{a.id}/{a.filename}"}}

    def organization(self, o: Organization) -> dict:
        """`OrganizationDTO`."""
        return {"id": o.id, "name": o.name, "created": date_dto(o.created_ms),
                "_links": {"self": f"{self.api}/organization/{o.id}"}}

    def sla(self, req: Request, now_ms: int | None = None) -> list[dict]:
        """`SlaInformationDTO`s on the stand-in's working calendar (`sandbox.sla`); none on the free desk."""
        return sla.metrics(req, now_ms if now_ms is not None else self.now_ms(), self.api)

    def request(self, req: Request, viewer: Account, expand: list[str] = ()) -> dict:
        """`CustomerRequestDTO` with the requested expansions."""
        b = self.s.base
        out: dict = {"_expands": REQUEST_EXPANDS, "issueId": str(req.id), "issueKey": req.key,
                     "requestTypeId": req.request_type_id, "serviceDeskId": req.desk_id,
                     "createdDate": date_dto(req.created_ms), "reporter": self.s.sd_user(req.reporter),
                     "requestFieldValues": self.field_values(req), "currentStatus": self.current_status(req),
                     "_links": {"jiraRest": f"{b}/rest/api/2/issue/{req.id}",
                                "web": f"{b}/servicedesk/customer/portal/{req.desk_id}/{req.key}",
                                "self": f"{self.api}/request/{req.id}", "agent": f"{b}/browse/{req.key}"}}
        if "serviceDesk" in expand:
            out["serviceDesk"] = self.service_desk(catalog.DESK_BY_ID[req.desk_id])
        if "requestType" in expand:
            out["requestType"] = self.request_type(catalog.REQUEST_TYPE_BY_ID[req.request_type_id])
        if "participant" in expand:
            out["participants"] = self._page([self.s.sd_user(a) for a in req.participants])
        if "status" in expand:
            out["status"] = self._page(self.status_history(req))
        if "sla" in expand and viewer.is_agent:
            out["sla"] = self._page(self.sla(req))
        if "attachment" in expand:
            out["attachments"] = self._page([self.attachment(req, a) for a in req.attachments])
        if "comment" in expand:
            visible = [c for c in req.comments if c.public or viewer.is_agent]
            out["comments"] = self._page([self.comment(req, c) for c in visible])
        if "action" in expand:
            closed = catalog.STATUS_BY_ID[req.status_id].name == "Closed"
            out["actions"] = {"addAttachment": {"allowed": not closed}, "addComment": {"allowed": not closed},
                              "addParticipant": {"allowed": True}, "removeParticipant": {"allowed": True}}
        return out

    def _page(self, values: list) -> dict:
        return {"_expands": [], "size": len(values), "start": 0, "limit": max(len(values), 50), "isLastPage": True,
                "_links": {"base": self.api, "context": ""}, "values": values}


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
