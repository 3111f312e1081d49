"""Raw JSM JSON → gateway values. The only place besides sync.events that reads JSM dicts."""

from __future__ import annotations

from typing import Any

from sync.events import CommentSnapshot, comment_snapshot, issue_snapshot, parse_time, person
from sync.jsm_types import (
    Account,
    CreatedRequest,
    RequestType,
    RequestTypeField,
    RequestTypeFields,
    SearchHit,
    ServiceDesk,
    Transition,
)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _epoch(date_dto: Any) -> int | None:
    """`DateDTO.epochMillis` (servicedeskapi dates)."""
    if isinstance(date_dto, dict) and isinstance(date_dto.get("epochMillis"), int):
        return date_dto["epochMillis"]
    return None


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


def search_hit(raw: dict[str, Any]) -> SearchHit:
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
    return SearchHit(issue_snapshot(raw), comments, complete)


def created_request(raw: dict[str, Any]) -> CreatedRequest:
    status = raw.get("currentStatus") or {}
    return CreatedRequest(issue_id=str(raw["issueId"]), issue_key=str(raw["issueKey"]),
                          service_desk_id=_s(raw.get("serviceDeskId")), request_type_id=_s(raw.get("requestTypeId")),
                          status=_s(status.get("status")), created_ms=_epoch(raw.get("createdDate")))


def transition(raw: dict[str, Any]) -> Transition:
    return Transition(id=str(raw["id"]), name=str(raw.get("name") or ""))
