"""Raw JSM JSON → gateway values. Besides sync.jsm.events and sync.jsm.snapshots, the only reader of JSM dicts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sync.jsm.snapshots import CommentSnapshot, comment_snapshot, issue_snapshot, parse_time, person
from sync.jsm.values import (
    Account,
    CreatedRequest,
    RequestAttachment,
    RequestType,
    RequestTypeField,
    RequestTypeFields,
    SearchHit,
    ServiceDesk,
    SlaCycle,
    SlaMetric,
    Transition,
)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _epoch(date_dto: Any) -> int | None:
    """`DateDTO.epochMillis` (servicedeskapi dates)."""
    millis = _dict(date_dto).get("epochMillis")
    return millis if isinstance(millis, int) else None


def account(raw: dict[str, Any]) -> Account:
    """`/myself` (Cloud accountId, DC name/key)."""
    return Account(account_id=_s(raw.get("accountId") or raw.get("key") or raw.get("name")),
                   name=_s(raw.get("displayName") or raw.get("name")), email=_s(raw.get("emailAddress")),
                   time_zone=_s(raw.get("timeZone")))


def service_desk(raw: dict[str, Any]) -> ServiceDesk:
    return ServiceDesk(id=str(raw["id"]), project_id=_s(raw.get("projectId")), project_key=str(raw["projectKey"]),
                       project_name=_s(raw.get("projectName")))


def request_type(raw: dict[str, Any]) -> RequestType:
    return RequestType(id=str(raw["id"]), name=str(raw.get("name") or ""),
                       description=str(raw.get("description") or ""),
                       service_desk_id=_s(raw.get("serviceDeskId")), issue_type_id=_s(raw.get("issueTypeId")),
                       group_ids=tuple(str(g) for g in raw.get("groupIds") or ()))


def request_type_fields(raw: dict[str, Any]) -> RequestTypeFields:
    fields = []
    for f in raw.get("requestTypeFields") or []:
        values = tuple((str(v.get("value")), str(v.get("label") or v.get("value")))
                       for v in f.get("validValues") or [] if isinstance(v, dict))
        fields.append(RequestTypeField(field_id=str(f.get("fieldId")), name=str(f.get("name") or ""),
                                       required=bool(f.get("required")), description=str(f.get("description") or ""),
                                       type=_s((f.get("jiraSchema") or {}).get("type")), valid_values=values))
    return RequestTypeFields(tuple(fields), bool(raw.get("canRaiseOnBehalfOf")),
                             bool(raw.get("canAddRequestParticipants")))


def sd_comment(raw: dict[str, Any]) -> CommentSnapshot:
    """A servicedeskapi `CommentDTO`: `public` is JSM's own flag; there is no `updated`, so created stands in."""
    created = parse_time(_epoch(raw.get("created")))
    public = raw.get("public")
    body = raw.get("body")
    return CommentSnapshot(jira_id=str(raw["id"]), author=person(raw.get("author")),
                           body=body if isinstance(body, str) else "", created=created, updated=created,
                           public=public if isinstance(public, bool) else None)


def search_hit(raw: dict[str, Any], organisations_fields: frozenset[str] = frozenset(),
               participants_fields: frozenset[str] = frozenset()) -> SearchHit:
    """A v2 search issue with its embedded `comment` page (Cloud carries `jsdPublic`, DC does not)."""
    page = (raw.get("fields") or {}).get("comment")
    comments: tuple[CommentSnapshot, ...] = ()
    complete = True
    if isinstance(page, dict):
        items = [c for c in page.get("comments") or [] if isinstance(c, dict)]
        comments = tuple(comment_snapshot(c) for c in items)
        total = page.get("total")
        complete = not isinstance(total, int) or total <= len(items)
    elif page is None:
        complete = False  # the search did not return comments at all: ask separately when it matters
    return SearchHit(issue_snapshot(raw, organisations_fields, participants_fields), comments, complete,
                     attachment_ids(raw.get("fields") or {}))


def attachment_ids(fields: Any) -> tuple[str, ...] | None:
    """Sorted ids of an issue's `fields.attachment` (internal ones too); None when the field is absent."""
    items = fields.get("attachment") if isinstance(fields, dict) else None
    if not isinstance(items, list):
        return None
    return tuple(sorted(str(a["id"]) for a in items if isinstance(a, dict) and a.get("id") is not None))


# AttachmentDTO has no `id`: it is the last segment of `_links.jiraRest` (…/attachment/{id}) or the
# segment after /secure/attachment/ in `_links.content`.
_ATTACHMENT_ID = (re.compile(r"/attachment/(\d+)/?$"), re.compile(r"/secure/attachment/(\d+)(?:/|$)"),
                  re.compile(r"/attachment/content/(\d+)"))


def sd_attachment(raw: dict[str, Any]) -> RequestAttachment | None:
    """A servicedeskapi `AttachmentDTO`; None when no attachment id can be read from its links."""
    links = _dict(raw.get("_links"))
    found = None
    for link, pattern in zip(("jiraRest", "content", "content"), _ATTACHMENT_ID, strict=True):
        match = pattern.search(str(links.get(link) or ""))
        if match:
            found = match.group(1)
            break
    if found is None:
        return None
    author = person(raw.get("author"))
    size = raw.get("size")
    return RequestAttachment(jira_id=found, filename=str(raw.get("filename") or "file"),
                             size=size if isinstance(size, int) and size >= 0 else 0,
                             mime_type=_s(raw.get("mimeType")), created_ms=_epoch(raw.get("created")),
                             author_name=author.name if author else None)


def webhook_attachment_change(body: Any) -> tuple[str, tuple[str, ...] | None] | None:
    """(issue key, `fields.attachment` ids) when an issue webhook shows attachments added or removed."""
    if not isinstance(body, dict) or body.get("webhookEvent") not in ("jira:issue_created", "jira:issue_updated"):
        return None
    issue = _dict(body.get("issue"))
    key = issue.get("key")
    if not isinstance(key, str) or not key:
        return None
    ids = attachment_ids(issue.get("fields"))
    items = body["changelog"].get("items") if isinstance(body.get("changelog"), dict) else None
    changed = any(isinstance(i, dict) and str(i.get("fieldId") or i.get("field") or "").lower() == "attachment"
                  for i in items or [])
    if body["webhookEvent"] == "jira:issue_created":
        changed = changed or bool(ids)
    return (key, ids) if changed else None


def created_request(raw: dict[str, Any]) -> CreatedRequest:
    status = raw.get("currentStatus") or {}
    return CreatedRequest(issue_id=str(raw["issueId"]), issue_key=str(raw["issueKey"]),
                          service_desk_id=_s(raw.get("serviceDeskId")), request_type_id=_s(raw.get("requestTypeId")),
                          status=_s(status.get("status")), created_ms=_epoch(raw.get("createdDate")))


def transition(raw: dict[str, Any]) -> Transition:
    return Transition(id=str(raw["id"]), name=str(raw.get("name") or ""))


def _instant(date_dto: Any) -> datetime | None:
    millis = _epoch(date_dto)
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


def _millis(duration_dto: Any) -> int | None:
    millis = _dict(duration_dto).get("millis")
    return millis if isinstance(millis, int) else None


def sla_cycle(raw: Any) -> SlaCycle:
    """`completedCycles[]` / `ongoingCycle` of an `SlaInformationDTO` (a paused cycle has no breach time)."""
    c = _dict(raw)
    return SlaCycle(start=_instant(c.get("startTime")), stop=_instant(c.get("stopTime")),
                    breach=_instant(c.get("breachTime")), breached=c.get("breached") is True,
                    paused=c.get("paused") is True, goal_ms=_millis(c.get("goalDuration")),
                    elapsed_ms=_millis(c.get("elapsedTime")), remaining_ms=_millis(c.get("remainingTime")))


def sla_metric(raw: dict[str, Any]) -> SlaMetric:
    """`SlaInformationDTO` (`GET /rest/servicedeskapi/request/{key}/sla`)."""
    ongoing = raw.get("ongoingCycle")
    return SlaMetric(id=_s(raw.get("id")), name=str(raw.get("name") or ""),
                     completed=tuple(sla_cycle(c) for c in raw.get("completedCycles") or [] if isinstance(c, dict)),
                     ongoing=sla_cycle(ongoing) if isinstance(ongoing, dict) else None)
