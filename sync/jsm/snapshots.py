"""Jira issue and comment objects (webhook or REST) as small neutral snapshots.

The one place that reads raw issue and comment dicts, whichever way they came: a webhook body
(`sync.jsm.events`), a search page or a servicedeskapi answer (`sync.jsm.parse`). Site-specific custom
fields (Customer Request Type, Organizations, Request participants) are recognised here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

_T = TypeVar("_T")


class NotAWebhook(ValueError):
    """The body is not a Jira webhook this service understands; the message says why."""


@dataclass(frozen=True)
class Person:
    account_id: str | None
    name: str | None
    email: str | None = None


@dataclass(frozen=True)
class Organisation:
    jira_id: str
    name: str


@dataclass(frozen=True)
class IssueSnapshot:
    """The fields of an issue this service mirrors, as one webhook or search result carried them."""

    jira_id: str
    key: str
    project_key: str
    summary: str
    description: str | None
    status_id: str | None
    status_name: str | None
    status_category: str | None
    priority_id: str | None
    priority_name: str | None
    issue_type: str | None
    request_type_id: str | None
    request_type_name: str | None
    created: datetime | None
    updated: datetime | None
    resolved: datetime | None
    reporter: Person | None
    assignee: Person | None
    organisations: tuple[Organisation, ...] = ()
    # True when the payload carried the Organizations field, so an empty `organisations` means "shared
    # with none" (un-shared in JSM) rather than "not said".
    organisations_known: bool = False
    # Account ids in the site's "Request participants" field; `participants_known`: the field was in the payload
    # (so an empty tuple means "no participants"), which only its id tells (see `_participants`).
    participants: tuple[str, ...] = ()
    participants_known: bool = False


@dataclass(frozen=True)
class CommentSnapshot:
    jira_id: str
    author: Person | None
    body: str
    created: datetime | None
    updated: datetime | None
    # True/False from JSM's own flag; None when the payload does not say (Data Center): ask JSM.
    public: bool | None


@dataclass(frozen=True)
class StatusChange:
    from_id: str | None
    from_name: str | None
    to_id: str | None
    to_name: str | None


_FIELDS: dict[type[Any], frozenset[str]] = {}


def build(cls: type[_T], **values: Any) -> _T:
    """An instance of the frozen dataclass `cls` from every one of its fields, without its `__init__`.

    A frozen dataclass sets each field through `object.__setattr__` in `__init__`: for an issue's 22
    fields that was a fifth of normalising a webhook, and the inbox normalises every event it applies.
    The result is the same object (equal, hashable, frozen); a missing or unknown field is an error.
    """
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    if values.keys() != names:
        raise TypeError(f"{cls.__name__} needs exactly {sorted(names)}, got {sorted(values)}")
    instance = object.__new__(cls)
    instance.__dict__.update(values)
    return instance


def parse_time(value: Any) -> datetime | None:
    """Jira's `2019-02-15T19:15:40.477-0800` (or epoch ms) as an aware UTC datetime; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise NotAWebhook(f"epoch milliseconds out of range: {value!r}") from None
    if not isinstance(value, str):
        raise NotAWebhook(f"expected a timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
        # 9999-12-31T23:59-12:00 is past the last instant a datetime holds once moved to UTC.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise NotAWebhook(f"not a timestamp (or out of range): {value!r}") from None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def person(raw: Any) -> Person | None:
    """A Cloud (`accountId`) or Data Center (`name`/`key`) user object as a Person."""
    if not isinstance(raw, dict):
        return None
    account = raw.get("accountId") or raw.get("key") or raw.get("name")
    return build(Person, account_id=_str(account), name=_str(raw.get("displayName") or raw.get("name")),
                 email=_str(raw.get("emailAddress")))


def _organisations(fields: dict[str, Any], field_ids: frozenset[str]) -> tuple[tuple[Organisation, ...], bool]:
    """The organisations of the request, and whether the Organizations field was in the payload at all.

    JSM's Organizations field is a custom field whose id varies per site; its value is a list of
    {id, name, _links}. A non-empty one is recognised by shape; an empty one (`[]` or `null`) only by
    the site's field id (`field_ids`, from JSM's field list), as nothing else tells it apart.
    """
    found: list[Organisation] = []
    known = any(name in fields for name in field_ids)
    for name, value in fields.items():
        if not isinstance(value, list) or not value or not name.startswith("customfield_"):
            continue
        for item in value:
            if isinstance(item, dict) and "_links" in item and "id" in item and "name" in item:
                found.append(build(Organisation, jira_id=str(item["id"]), name=str(item["name"])))
    return tuple(found), known or bool(found)


def _participants(fields: dict[str, Any], field_ids: frozenset[str]) -> tuple[tuple[str, ...], bool]:
    """The account ids in the site's Request participants field(s), and whether the field was in the payload.

    A list of user objects like any other user-list custom field, so only the site's field id (from JSM's
    field list, as for Organizations) says which one it is; without it the participants are "not said".
    """
    present = [name for name in field_ids if name in fields]
    found: list[str] = []
    for name in present:
        for item in fields[name] if isinstance(fields[name], list) else []:
            who = person(item)
            if who is not None and who.account_id and who.account_id not in found:
                found.append(who.account_id)
    return tuple(found), bool(present)


def _request_type(fields: dict[str, Any]) -> tuple[str | None, str | None]:
    # The "Customer Request Type" field: {"requestType": {"id", "name", ...}, ...} (id varies per site).
    for name, value in fields.items():
        if isinstance(value, dict) and name.startswith("customfield_") and isinstance(value.get("requestType"), dict):
            request_type = value["requestType"]
            return _str(request_type.get("id")), _str(request_type.get("name"))
    return None, None


def issue_identity(raw: Any) -> tuple[str, str, str, dict[str, Any]]:
    """(id, key, project key, fields) of an issue object; NotAWebhook when it is none."""
    if not isinstance(raw, dict):
        raise NotAWebhook("`issue` must be an object")
    key, jira_id = raw.get("key"), raw.get("id")
    if not isinstance(key, str) or not key or jira_id is None:
        raise NotAWebhook("`issue` must have `id` and `key`")
    fields = _obj(raw.get("fields"))
    return str(jira_id), key, str(_obj(fields.get("project")).get("key") or key.rsplit("-", 1)[0]), fields


def issue_times(fields: dict[str, Any]) -> tuple[datetime | None, datetime | None, datetime | None]:
    """An issue's created, updated and resolved times; NotAWebhook when one is not a time."""
    return parse_time(fields.get("created")), parse_time(fields.get("updated")), \
        parse_time(fields.get("resolutiondate"))


def issue_snapshot(raw: Any, organisations_fields: frozenset[str] = frozenset(),
                   participants_fields: frozenset[str] = frozenset()) -> IssueSnapshot:
    """An issue object (webhook `issue` or REST v2 issue) as an IssueSnapshot.

    `organisations_fields`, `participants_fields`: the site's Organizations and Request participants field
    ids, when known (see `_organisations`, `_participants`).
    """
    jira_id, key, project_key, fields = issue_identity(raw)
    created, updated, resolved = issue_times(fields)
    status = _obj(fields.get("status"))
    priority = _obj(fields.get("priority"))
    request_type_id, request_type_name = _request_type(fields)
    description = fields.get("description")
    organisations, organisations_known = _organisations(fields, organisations_fields)
    participants, participants_known = _participants(fields, participants_fields)
    return build(
        IssueSnapshot,
        jira_id=jira_id,
        key=key,
        project_key=project_key,
        summary=str(fields.get("summary") or ""),
        description=description if isinstance(description, str) else None,
        status_id=_str(status.get("id")),
        status_name=_str(status.get("name")),
        status_category=_str(_obj(status.get("statusCategory")).get("key")),
        priority_id=_str(priority.get("id")),
        priority_name=_str(priority.get("name")),
        issue_type=_str(_obj(fields.get("issuetype")).get("name")),
        request_type_id=request_type_id,
        request_type_name=request_type_name,
        created=created,
        updated=updated,
        resolved=resolved,
        reporter=person(fields.get("reporter")),
        assignee=person(fields.get("assignee")),
        organisations=organisations,
        organisations_known=organisations_known,
        participants=participants,
        participants_known=participants_known,
    )


def comment_times(raw: Any) -> tuple[datetime | None, datetime | None]:
    """A comment object's created and updated times; NotAWebhook when it is none or a time is not one."""
    if not isinstance(raw, dict) or raw.get("id") is None:
        raise NotAWebhook("`comment` must be an object with an `id`")
    return parse_time(raw.get("created")), parse_time(raw.get("updated") or raw.get("created"))


def comment_snapshot(raw: Any) -> CommentSnapshot:
    """A webhook or REST v2 comment object as a CommentSnapshot."""
    created, updated = comment_times(raw)
    public = raw.get("jsdPublic")
    body = raw.get("body")
    return build(
        CommentSnapshot,
        jira_id=str(raw["id"]),
        author=person(raw.get("author")),
        body=body if isinstance(body, str) else "",
        created=created,
        updated=updated,
        public=public if isinstance(public, bool) else None,
    )
