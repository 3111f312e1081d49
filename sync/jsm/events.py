"""Normalise raw Jira webhook bodies (Cloud and Data Center) into small neutral events.

Nothing past this module reads raw webhook dicts (the issue and comment objects inside them are read by
`sync.jsm.snapshots`). Logic is driven by `webhookEvent` and the changelog items, never by
`issue_event_type_name` (older payloads omit it; see REFERENCE.md a.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sync.jsm.snapshots import (
    CommentSnapshot,
    IssueSnapshot,
    NotAWebhook,
    Person,
    StatusChange,
    build,
    comment_snapshot,
    comment_times,
    issue_identity,
    issue_snapshot,
    issue_times,
    person,
)

# NotAWebhook is what `normalise` and `route` raise: callers catch it from here.
__all__ = ["COMMENT_EVENTS", "ISSUE_EVENTS", "MAX_EPOCH_MS", "CommentEvent", "Event", "IssueEvent", "NotAWebhook",
           "OtherEvent", "Route", "normalise", "route"]

ISSUE_EVENTS = {"jira:issue_created": "created", "jira:issue_updated": "updated", "jira:issue_deleted": "deleted"}
COMMENT_EVENTS = {"comment_created": "created", "comment_updated": "updated", "comment_deleted": "deleted"}
# DC `comment.self` is the only place the issue id lives: …/rest/api/2/issue/{issueId}/comment/{commentId}
_COMMENT_SELF = re.compile(r"/issue/(?P<issue>[^/]+)/comment/(?P<comment>[^/?]+)")


@dataclass(frozen=True)
class IssueEvent:
    kind: str  # created | updated | deleted
    issue: IssueSnapshot
    actor: Person | None
    timestamp_ms: int | None
    changelog_id: str | None
    status_changes: tuple[StatusChange, ...] = ()
    comment: CommentSnapshot | None = None  # DC `issue_commented` carries one inside jira:issue_updated


@dataclass(frozen=True)
class CommentEvent:
    kind: str  # created | updated | deleted
    issue_jira_id: str
    issue_key: str | None
    project_key: str | None
    comment: CommentSnapshot
    actor: Person | None
    timestamp_ms: int | None
    issue: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class OtherEvent:
    """A well-formed webhook of a kind this service does not mirror (worklogs, versions, …)."""

    kind: str
    timestamp_ms: int | None


Event = IssueEvent | CommentEvent | OtherEvent


MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _status_changes(changelog: dict[str, Any]) -> tuple[StatusChange, ...]:
    items = changelog.get("items")
    if not isinstance(items, list):
        return ()
    return tuple([
        build(StatusChange, from_id=_str(i.get("from")), from_name=_str(i.get("fromString")), to_id=_str(i.get("to")),
              to_name=_str(i.get("toString")))
        for i in items
        if isinstance(i, dict) and (i.get("fieldId") or i.get("field")) == "status"
    ])


def _envelope(body: Any) -> tuple[str, int | None]:
    """The webhook's kind and timestamp, checked."""
    if not isinstance(body, dict):
        raise NotAWebhook("the body must be a JSON object")
    kind = body.get("webhookEvent")
    if not isinstance(kind, str) or not kind:
        raise NotAWebhook("no `webhookEvent`: this is not a Jira webhook")
    timestamp = body.get("timestamp")
    # bool is an int in Python; `true` is not a time.
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int)):
        raise NotAWebhook("`timestamp` must be epoch milliseconds")
    # The inbox keeps it in a 64-bit column; a real delivery is between 1970 and year 9999.
    if timestamp is not None and not 0 <= timestamp <= MAX_EPOCH_MS:
        raise NotAWebhook(f"`timestamp` out of range (0 to {MAX_EPOCH_MS} epoch milliseconds)")
    return kind, timestamp


def _commented_issue(body: dict[str, Any]) -> tuple[dict[str, Any], str, str | None, str | None]:
    """A comment event's issue object, issue id, key and project key (the id from `comment.self` on DC)."""
    issue = _obj(body.get("issue"))
    issue_id = _str(issue.get("id"))
    if issue_id is None:
        match = _COMMENT_SELF.search(str(_obj(body.get("comment")).get("self") or ""))
        if not match:
            raise NotAWebhook("comment event without `issue` and without an issue id in `comment.self`")
        issue_id = match.group("issue")
    issue_key = _str(issue.get("key"))
    project_key = _str(_obj(_obj(issue.get("fields")).get("project")).get("key"))
    if project_key is None and issue_key:
        project_key = issue_key.rsplit("-", 1)[0]
    return issue, issue_id, issue_key, project_key


def normalise(body: Any, organisations_fields: frozenset[str] = frozenset(),
              participants_fields: frozenset[str] = frozenset()) -> Event:
    """Turn a parsed webhook body into an Event; raise NotAWebhook with a clear reason otherwise."""
    kind, timestamp = _envelope(body)
    actor = person(body.get("user"))
    if kind in ISSUE_EVENTS:
        changelog = _obj(body.get("changelog"))
        comment = comment_snapshot(body["comment"]) if isinstance(body.get("comment"), dict) else None
        return build(IssueEvent, kind=ISSUE_EVENTS[kind],
                     issue=issue_snapshot(body.get("issue"), organisations_fields, participants_fields),
                     actor=actor, timestamp_ms=timestamp, changelog_id=_str(changelog.get("id")),
                     status_changes=_status_changes(changelog), comment=comment)
    if kind in COMMENT_EVENTS:
        comment = comment_snapshot(body.get("comment"))
        issue, issue_id, issue_key, project_key = _commented_issue(body)
        return CommentEvent(kind=COMMENT_EVENTS[kind], issue_jira_id=issue_id, issue_key=issue_key,
                            project_key=project_key, comment=comment, actor=actor, timestamp_ms=timestamp,
                            issue=issue)
    return OtherEvent(kind=kind, timestamp_ms=timestamp)


class Route(NamedTuple):
    """What the webhook receiver needs of a body: which kind of event, about which issue and project."""

    kind: str  # an Event's kind: created | updated | deleted for issue and comment events, else `webhookEvent`
    mirrored: bool  # an issue or a comment event (any other kind is recorded as ignored)
    issue_key: str | None
    project_key: str | None


def route(body: Any) -> Route:
    """The receiver's part of `normalise`: the same checks, the same NotAWebhook for the same bodies, in the
    same order (tests/gateway/test_webhook_route.py), without building the snapshots (people, organisations,
    participants, request type, status changes), which only the applier reads, from the stored row."""
    kind, _ = _envelope(body)
    if kind in ISSUE_EVENTS:
        if isinstance(body.get("comment"), dict):
            comment_times(body["comment"])
        _, key, project, fields = issue_identity(body.get("issue"))
        issue_times(fields)
        return Route(ISSUE_EVENTS[kind], True, key, project)
    if kind in COMMENT_EVENTS:
        comment_times(body.get("comment"))
        _, _, issue_key, project_key = _commented_issue(body)
        return Route(COMMENT_EVENTS[kind], True, issue_key, project_key)
    return Route(kind, False, None, None)
