"""Table tests of webhook normalisation: every kind, Cloud and Data Center shapes, real samples."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sync.jsm.events import CommentEvent, IssueEvent, NotAWebhook, OtherEvent, normalise
from sync.jsm.snapshots import Person, build, parse_time
from tests.conftest import shared_jsm_dir
from tests.helpers import issue_payload


def sample(name: str) -> dict[str, Any]:
    """A real webhook body from ../shared/jsm/samples."""
    return json.loads((shared_jsm_dir() / "samples" / f"{name}.json").read_text())


# (sample, expected class, kind, issue key or None, public flag of the comment or "n/a")
SAMPLES = [
    ("webhook-cloud-issue-created", IssueEvent, "created", True, "n/a"),
    ("webhook-cloud-issue-updated-priority", IssueEvent, "updated", True, "n/a"),
    ("webhook-cloud-issue-updated-reopened", IssueEvent, "updated", True, "n/a"),
    ("webhook-cloud-issue-updated-resolved", IssueEvent, "updated", True, "n/a"),
    ("webhook-cloud-issue-deleted", IssueEvent, "deleted", True, "n/a"),
    ("webhook-dc-issue-updated-resolved", IssueEvent, "updated", True, "n/a"),
    ("webhook-dc-issue-updated-commented", IssueEvent, "updated", True, None),
    ("webhook-cloud-comment-created", CommentEvent, "created", True, "bool"),
    ("webhook-cloud-comment-updated", CommentEvent, "updated", True, "bool"),
    ("webhook-cloud-comment-deleted", CommentEvent, "deleted", True, "bool"),
    ("webhook-dc-comment-created", CommentEvent, "created", False, None),
]


@pytest.mark.parametrize(("name", "cls", "kind", "has_key", "public"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_every_real_sample_normalises(name: str, cls: type, kind: str, has_key: bool, public: Any) -> None:
    event = normalise(sample(name))
    assert isinstance(event, cls) and event.kind == kind
    if isinstance(event, IssueEvent):
        assert event.issue.key and event.issue.jira_id and event.issue.updated is not None
        comment = event.comment
    else:
        assert event.issue_jira_id
        assert (event.issue_key is not None) is has_key
        comment = event.comment
    if public == "bool":
        assert isinstance(comment.public, bool)
    elif public is None:
        assert comment is not None and comment.public is None  # DC: no jsdPublic, ask JSM


def test_resolve_changelog_gives_one_status_change_by_field_id_or_name() -> None:
    cloud = normalise(sample("webhook-cloud-issue-updated-resolved"))
    dc = normalise(sample("webhook-dc-issue-updated-resolved"))
    for event in (cloud, dc):
        assert isinstance(event, IssueEvent) and len(event.status_changes) == 1
        assert event.changelog_id is not None
    assert cloud.status_changes[0].to_name == "Done"


@pytest.mark.parametrize("changelog", [None, {}, {"id": "5", "items": []}, {"id": 5, "items": None},
                                       {"items": [{"field": "assignee"}]}, "junk"])
def test_empty_or_odd_changelogs_mean_no_status_change(changelog: Any) -> None:
    body = issue_payload()
    if changelog is not None:
        body["changelog"] = changelog
    event = normalise(body)
    assert isinstance(event, IssueEvent) and event.status_changes == ()


def test_no_issue_event_type_name_changes_nothing() -> None:
    with_name = issue_payload(changelog_id="7")
    without = copy.deepcopy(with_name)
    del without["issue_event_type_name"]
    assert normalise(with_name) == normalise(without)


def test_custom_fields_organisations_and_request_type_are_found_by_shape() -> None:
    body = issue_payload()
    body["issue"]["fields"].update({
        "customfield_10002": [{"id": 3, "name": "Acme", "_links": {"self": "x"}},
                              {"id": "4", "name": "Beta", "_links": {}}],
        "customfield_10010": {"requestType": {"id": "11", "name": "Get help"}},
        "customfield_10003": [{"accountId": "a", "displayName": "P"}],  # a user list, not organisations
        "customfield_10201": {"value": "Prod", "id": "1"},
        "customfield_10202": None,
    })
    issue = normalise(body).issue
    assert [(o.jira_id, o.name) for o in issue.organisations] == [("3", "Acme"), ("4", "Beta")]
    assert (issue.request_type_id, issue.request_type_name) == ("11", "Get help")


@pytest.mark.parametrize(("fields", "field_ids", "participants", "known"), [
    ({"customfield_10003": [{"accountId": "a", "displayName": "P"}, {"accountId": "b"}]}, {"customfield_10003"},
     ("a", "b"), True),
    ({"customfield_10003": [{"name": "bob", "key": "JIRAUSER1"}]}, {"customfield_10003"}, ("JIRAUSER1",), True),
    ({"customfield_10003": []}, {"customfield_10003"}, (), True),  # everyone removed in JSM
    ({"customfield_10003": None}, {"customfield_10003"}, (), True),
    ({"customfield_10003": [{"accountId": "a"}]}, set(), (), False),  # field id unknown: a user list like any other
    ({"customfield_10004": [{"accountId": "a"}]}, {"customfield_10003"}, (), False),  # not in the payload
])
def test_participants_come_from_the_sites_participants_field(fields: dict[str, Any], field_ids: set[str],
                                                             participants: tuple[str, ...], known: bool) -> None:
    body = issue_payload()
    body["issue"]["fields"].update(fields)
    issue = normalise(body, frozenset(), frozenset(field_ids)).issue
    assert (issue.participants, issue.participants_known) == (participants, known)


def test_data_center_comment_without_issue_takes_the_id_from_self() -> None:
    body = {"timestamp": 1, "webhookEvent": "comment_deleted", "user": {"name": "bob", "key": "JIRAUSER1"},
            "comment": {"self": "https://jira.example/rest/api/2/issue/10013/comment/10082", "id": "10082",
                        "body": "x", "created": "2019-06-03T22:15:17.234+0000"}}
    event = normalise(body)
    assert isinstance(event, CommentEvent)
    assert (event.issue_jira_id, event.issue_key, event.project_key) == ("10013", None, None)
    assert event.comment.public is None and event.comment.updated == event.comment.created
    assert event.actor is not None and event.actor.account_id == "JIRAUSER1"


def test_cloud_comment_trimmed_issue_gives_key_and_project() -> None:
    body = {"timestamp": 1, "webhookEvent": "comment_created",
            "issue": {"id": "1", "key": "SUP-9", "fields": {"project": {"key": "SUP"}}},
            "comment": {"id": "5", "body": "hi", "jsdPublic": False, "created": "2026-01-01T00:00:00.000+0000"}}
    event = normalise(body)
    assert (event.issue_key, event.project_key, event.comment.public) == ("SUP-9", "SUP", False)


BAD = [
    ([], "JSON object"), ({}, "webhookEvent"), ({"webhookEvent": ""}, "webhookEvent"),
    ({"webhookEvent": "jira:issue_updated"}, "issue"),
    ({"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1"}}, "id"),
    ({"webhookEvent": "comment_created", "comment": {"body": "x"}}, "comment"),
    ({"webhookEvent": "comment_created", "comment": {"id": "1", "self": "no-issue-here"}}, "issue"),
    ({"webhookEvent": "jira:issue_updated", "timestamp": "yesterday"}, "timestamp"),
    ({"webhookEvent": "jira:issue_updated", "timestamp": True}, "timestamp"),
    ({"webhookEvent": "jira:issue_updated", "issue": {"id": 1, "key": "A-1", "fields": {"updated": "soon"}}},
     "timestamp"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_malformed_bodies_raise_not_a_webhook_with_a_reason(body: Any, message: str) -> None:
    with pytest.raises(NotAWebhook, match=message):
        normalise(body)


def test_other_kinds_are_well_formed_but_not_mirrored() -> None:
    assert normalise({"webhookEvent": "worklog_created", "timestamp": 5}) == OtherEvent("worklog_created", 5)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2019-02-15T19:15:40.477-0800", datetime(2019, 2, 16, 3, 15, 40, 477000, UTC)),
    ("2019-02-15T19:15:40.477+0000", datetime(2019, 2, 15, 19, 15, 40, 477000, UTC)),
    ("2019-02-15T19:15:40Z", datetime(2019, 2, 15, 19, 15, 40, tzinfo=UTC)),
    (1550286940507, datetime(2019, 2, 16, 3, 15, 40, 507000, UTC)),
    (None, None), ("", None),
])
def test_times_become_aware_utc(raw: Any, expected: datetime | None) -> None:
    assert parse_time(raw) == expected


def _snapshots(value: Any) -> list[Any]:
    """Every dataclass instance inside an event (the event itself, its issue, people, comment, changes)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [value, *(s for f in dataclasses.fields(value) for s in _snapshots(getattr(value, f.name)))]
    if isinstance(value, tuple):
        return [s for item in value for s in _snapshots(item)]
    return []


@pytest.mark.parametrize("name", [s[0] for s in SAMPLES])
def test_snapshots_built_without_their_init_are_the_dataclasses_they_would_be(name: str) -> None:
    # `build` skips the frozen dataclasses' __init__ for speed: the result must be indistinguishable.
    event = normalise(sample(name), frozenset({"customfield_10002"}), frozenset({"customfield_10003"}))
    built = _snapshots(event)
    assert len(built) >= 3
    for snapshot in built:
        again = dataclasses.replace(snapshot)  # through __init__, every field as it is
        assert again == snapshot and hash(again) == hash(snapshot) and vars(again) == vars(snapshot)
        with pytest.raises(dataclasses.FrozenInstanceError):
            snapshot.kind = "x"


def test_build_wants_exactly_the_fields() -> None:
    with pytest.raises(TypeError, match="needs exactly"):
        build(Person, account_id="a", name="b")
    with pytest.raises(TypeError, match="needs exactly"):
        build(Person, account_id="a", name="b", email=None, extra=1)
    assert build(Person, account_id="a", name="b", email=None) == Person("a", "b")
