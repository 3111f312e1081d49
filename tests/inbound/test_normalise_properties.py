"""Hypothesis properties of normalisation: total on any JSON, faithful on any well-formed webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.jsm.events import CommentEvent, IssueEvent, NotAWebhook, OtherEvent, normalise

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
kinds = st.sampled_from(["jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created",
                         "comment_updated", "comment_deleted", "worklog_updated"])
instants = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60)
ids = st.integers(min_value=1, max_value=10**9).map(str)


def jira_time(moment: datetime, offset_minutes: int) -> str:
    """Jira's wire format: millisecond precision and a ±HHMM offset."""
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}{sign}{hours:02d}{minutes:02d}"


def ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@SETTINGS
@given(body=json_values | st.fixed_dictionaries({"webhookEvent": kinds}, optional={
    "issue": json_values, "comment": json_values, "changelog": json_values, "timestamp": json_values,
    "user": json_values}))
def test_normalise_is_total_it_returns_an_event_or_says_why_not(body: Any) -> None:
    try:
        event = normalise(body)
    except NotAWebhook as exc:
        assert str(exc)
    else:
        assert isinstance(event, IssueEvent | CommentEvent | OtherEvent)


@st.composite
def issue_webhooks(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A well-formed issue webhook in Cloud or DC shape, and what normalisation must read from it."""
    cloud = draw(st.booleans())
    key = f"{draw(st.sampled_from(['SUP', 'HR', 'IT']))}-{draw(st.integers(1, 99999))}"
    created, updated = sorted([draw(instants), draw(instants)])
    expected = {"jira_id": draw(ids), "key": key, "status_id": draw(ids), "status_name": draw(st.text(min_size=1)),
                "priority_name": draw(st.sampled_from(["Highest", "High", "Medium", "Low", "Lowest"])),
                "created": ms(created), "updated": ms(updated), "orgs": draw(st.lists(ids, max_size=3, unique=True))}
    user = {"accountId": "a-1", "displayName": "A"} if cloud else {"name": "bob", "key": "JIRAUSER1"}
    fields: dict[str, Any] = {
        "summary": draw(st.text()), "project": {"key": key.split("-")[0]},
        "status": {"id": expected["status_id"], "name": expected["status_name"], "statusCategory": {"key": "new"}},
        "priority": {"id": "3", "name": expected["priority_name"]},
        "created": jira_time(created, draw(offsets)), "updated": jira_time(updated, draw(offsets)),
        "reporter": user, "customfield_10002": [{"id": int(o), "name": f"Org {o}", "_links": {}}
                                                for o in expected["orgs"]],
    }
    for name in draw(st.lists(st.integers(10100, 10199).map(lambda n: f"customfield_{n}"), max_size=3)):
        fields[name] = draw(json_values.filter(lambda v: not isinstance(v, list)))  # noise custom fields
    items, status_items = [], 0
    for field_name in draw(st.lists(st.sampled_from(["status", "priority", "assignee", "resolution", "Org"]),
                                    max_size=4)):
        item = {"field": field_name, "fieldtype": "jira", "from": "1", "fromString": "A", "to": "2", "toString": "B"}
        if cloud:
            item["fieldId"] = field_name if field_name != "Org" else "customfield_10002"
        items.append(item)
        status_items += field_name == "status"
    expected["status_items"] = status_items
    body: dict[str, Any] = {"timestamp": draw(st.integers(0, 2**41)), "user": user,
                            "webhookEvent": draw(st.sampled_from(["jira:issue_created", "jira:issue_updated"])),
                            "issue": {"id": expected["jira_id"], "key": key, "fields": fields}}
    if draw(st.booleans()):
        body["issue_event_type_name"] = draw(st.sampled_from(["issue_generic", "issue_updated", "bogus"]))
    if items or draw(st.booleans()):
        body["changelog"] = {"id": draw(ids), "items": items}
    return body, expected


@SETTINGS
@given(case=issue_webhooks())
def test_well_formed_issue_webhooks_are_read_faithfully(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    body, expected = case
    event = normalise(body)
    assert isinstance(event, IssueEvent)
    issue = event.issue
    assert (issue.jira_id, issue.key, issue.project_key) == (expected["jira_id"], expected["key"],
                                                             expected["key"].split("-")[0])
    assert (issue.status_id, issue.status_name, issue.priority_name) == (
        expected["status_id"], expected["status_name"], expected["priority_name"])
    assert issue.created == expected["created"] and issue.updated == expected["updated"]
    assert issue.updated.tzinfo is not None and issue.updated.utcoffset() == timedelta(0)
    assert [o.jira_id for o in issue.organisations] == expected["orgs"]
    assert len(event.status_changes) == expected["status_items"]
    # The optional type name never changes the outcome (REFERENCE a.1: drive logic from the changelog).
    body.pop("issue_event_type_name", None)
    assert normalise(body) == event


@SETTINGS
@given(cloud=st.booleans(), public=st.none() | st.booleans(), issue_id=ids, comment_id=ids, at=instants,
       offset=offsets, kind=st.sampled_from(["comment_created", "comment_updated", "comment_deleted"]))
def test_comment_webhooks_find_their_issue_and_never_invent_visibility(
        cloud: bool, public: bool | None, issue_id: str, comment_id: str, at: datetime, offset: int,
        kind: str) -> None:
    comment: dict[str, Any] = {"self": f"https://x/rest/api/2/issue/{issue_id}/comment/{comment_id}",
                               "id": comment_id, "body": "b", "created": jira_time(at, offset)}
    if public is not None:
        comment["jsdPublic"] = public
    body: dict[str, Any] = {"timestamp": 1, "webhookEvent": kind, "comment": comment}
    if cloud:
        body["issue"] = {"id": issue_id, "key": "SUP-1", "fields": {"project": {"key": "SUP"}}}
    event = normalise(body)
    assert isinstance(event, CommentEvent)
    assert event.issue_jira_id == issue_id and event.comment.jira_id == comment_id
    assert event.comment.public is public
    assert event.comment.updated == ms(at)
