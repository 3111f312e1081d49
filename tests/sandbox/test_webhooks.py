"""Webhooks: shaped like the real samples (Cloud and DC), signed, identified, retried, from the acting user."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests

from sandbox.testing import running_sandbox
from tests.sandbox.conftest import basic, shared_jsm

SECRET = "webhook-secret"


def sample(name: str) -> dict:
    return json.loads((shared_jsm() / "samples" / f"webhook-{name}.json").read_text())


def jtype(value) -> str:
    return "null" if value is None else type(value).__name__


def assert_like(ours: dict, real: dict, what: str) -> None:
    """Same keys, and the same JSON type wherever both values are non-null."""
    assert set(ours) == set(real), f"{what}: ours-only {set(ours) - set(real)}, real-only {set(real) - set(ours)}"
    for k in real:
        if real[k] is not None and ours[k] is not None:
            assert jtype(ours[k]) == jtype(real[k]), f"{what}.{k}: {jtype(ours[k])} != {jtype(real[k])}"


def assert_issue_like(ours: dict, real: dict, what: str) -> None:
    assert set(ours) == set(real), what
    # Sites differ in custom fields; every system field of the real payload must be there, typed alike.
    for k, v in real["fields"].items():
        if k.startswith("customfield_"):
            continue
        assert k in ours["fields"], f"{what}: field {k} missing"
        if v is not None and ours["fields"][k] is not None:
            assert jtype(ours["fields"][k]) == jtype(v), f"{what}: field {k} type"


def drive(url: str, email: str, deployment: str) -> str:
    """Make every kind of change through control endpoints and REST; returns the new request key."""
    s = requests.Session()
    r = s.post(f"{url}/_sandbox/requests", json={"summary": "Сломался экспорт", "reporter": "customer1@example.com"})
    key = r.json()["key"]
    s.post(f"{url}/_sandbox/requests/{key}/transition", json={"status": "In Progress"}).raise_for_status()
    s.post(f"{url}/_sandbox/requests/{key}/priority", json={"priority": "Highest"}).raise_for_status()
    s.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": "public", "public": True}).raise_for_status()
    auth = basic(email)
    cid = s.post(f"{url}/rest/api/2/issue/{key}/comment", headers=auth, json={"body": "edit me"}).json()["id"]
    s.put(f"{url}/rest/api/2/issue/{key}/comment/{cid}", headers=auth, json={"body": "edited"}).raise_for_status()
    s.delete(f"{url}/rest/api/2/issue/{key}/comment/{cid}", headers=auth).raise_for_status()
    s.post(f"{url}/_sandbox/requests/{key}/transition", json={"status": "Resolved"}).raise_for_status()
    s.delete(f"{url}/_sandbox/requests/{key}").raise_for_status()
    return key


def by_kind(bodies: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for b in bodies:
        kind = b["webhookEvent"] + ("/" + b["issue_event_type_name"] if "issue_event_type_name" in b else "")
        out.setdefault(kind, []).append(b)
    return out


def test_cloud_webhooks_look_like_real_ones(receiver):
    shared_jsm()
    with running_sandbox(seed="demo", webhook_url=receiver.url) as sb:
        drive(sb.url, sb.email, "cloud")
        assert sb.wait_for_webhooks()
    got = by_kind(receiver.bodies())
    pairs = [("jira:issue_created/issue_created", "cloud-issue-created"),
             ("jira:issue_updated/issue_generic", "cloud-issue-updated-resolved"),
             ("jira:issue_updated/issue_updated", "cloud-issue-updated-priority"),
             ("jira:issue_deleted", "cloud-issue-deleted"),
             ("comment_created", "cloud-comment-created"), ("comment_updated", "cloud-comment-updated"),
             ("comment_deleted", "cloud-comment-deleted")]
    for kind, name in pairs:
        real = sample(name)
        for ours in got[kind]:
            assert set(ours) == set(real), kind
            assert_issue_like(ours["issue"], real["issue"], kind)
            if "comment" in real:
                assert_like(ours["comment"], real["comment"], kind + ".comment")
                assert set(ours["issue"]["fields"]) == set(real["issue"]["fields"])  # the trimmed issue
            if "changelog" in real:
                for item in ours["changelog"]["items"]:
                    assert set(item) == {"field", "fieldtype", "fieldId", "from", "fromString", "to", "toString"}
            assert isinstance(ours["timestamp"], int)
    resolved = got["jira:issue_updated/issue_generic"][-1]["changelog"]["items"]
    assert {i["field"] for i in resolved} == {"status", "resolution"}
    assert resolved[-1]["toString"] == "Resolved"
    commented = got["jira:issue_updated/issue_commented"][0]
    assert set(commented) == set(sample("dc-issue-updated-commented"))
    assert commented["comment"]["jsdPublic"] is True


def test_datacenter_webhooks_look_like_real_ones(receiver):
    shared_jsm()
    with running_sandbox(seed="empty", deployment="datacenter", webhook_url=receiver.url) as sb:
        drive(sb.url, sb.email, "datacenter")
        assert sb.wait_for_webhooks()
    got = by_kind(receiver.bodies())
    real = sample("dc-comment-created")
    ours = got["comment_created"][0]
    assert set(ours) == set(real) == {"timestamp", "webhookEvent", "comment"}
    assert_like(ours["comment"], real["comment"], "dc comment")
    assert "/rest/api/2/issue/" in ours["comment"]["self"]
    for c in got["comment_updated"] + got["comment_deleted"]:
        assert set(c) == {"timestamp", "webhookEvent", "user", "comment"} and "jsdPublic" not in c["comment"]
    commented = got["jira:issue_updated/issue_commented"][0]
    real = sample("dc-issue-updated-commented")
    assert set(commented) == set(real)
    assert_like(commented["comment"], real["comment"], "dc issue_commented comment")
    assert_issue_like(commented["issue"], real["issue"], "dc issue_commented")
    resolved = got["jira:issue_updated/issue_generic"][-1]
    real = sample("dc-issue-updated-resolved")
    assert set(resolved) == set(real)
    assert_issue_like(resolved["issue"], real["issue"], "dc resolved")
    for item in resolved["changelog"]["items"]:
        assert set(item) == set(real["changelog"]["items"][0])  # no fieldId on DC
    assert "accountId" not in resolved["user"] and resolved["user"]["name"] == "agent1"


def test_signed_identified_and_not_sent_for_seeding(receiver):
    with running_sandbox(seed="demo", webhook_url=receiver.url, webhook_secret=SECRET) as sb:
        assert sb.wait_for_webhooks() and receiver.calls == []  # seeding is silent
        requests.post(f"{sb.url}/_sandbox/requests/SUP-1/comment", json={"body": "x", "public": False})
        requests.post(f"{sb.url}/_sandbox/requests/SUP-2/priority", json={"priority": "Low"})
        assert sb.wait_for_webhooks()
    ids = []
    for headers, raw in receiver.calls:
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Hub-Signature"] == expected
        assert "X-Atlassian-Webhook-Retry" not in headers
        ids.append(headers["X-Atlassian-Webhook-Identifier"])
    assert len(ids) == 3 and len(set(ids)) == 3
    internal = next(json.loads(raw) for _, raw in receiver.calls if b"comment_created" in raw)
    assert internal["comment"]["jsdPublic"] is False


@pytest.mark.parametrize(("script", "attempts"), [([500, 429, 409], 4), ([400], 1), ([404, 500], 1)])
def test_retried_like_cloud(receiver, script, attempts):
    with running_sandbox(seed="empty", webhook_url=receiver.url) as sb:
        receiver.script = list(script)
        requests.post(f"{sb.url}/_sandbox/requests", json={"summary": "retry me"})
        assert sb.wait_for_webhooks()
    assert len(receiver.calls) == attempts
    assert len({h["X-Atlassian-Webhook-Identifier"] for h, _ in receiver.calls}) == 1
    assert [h.get("X-Atlassian-Webhook-Retry") for h, _ in receiver.calls] == [None] + [
        str(i) for i in range(1, attempts)]


def test_connection_errors_are_retried_then_given_up():
    with running_sandbox(seed="empty", webhook_url="http://127.0.0.1:9/nothing-listens") as sb:
        requests.post(f"{sb.url}/_sandbox/requests", json={"summary": "lost"})
        assert sb.wait_for_webhooks(timeout=10)
        attempts = [d for d in sb.sandbox.sender.log if d["event"] == "jira:issue_created"]
    assert len(attempts) == 6 and all(str(d["status"]).startswith("error") for d in attempts)


def test_user_is_the_acting_account(receiver):
    with running_sandbox(seed="demo", webhook_url=receiver.url) as sb:
        customer = "customer2@example.com"
        key = requests.post(f"{sb.url}/rest/servicedeskapi/request", headers=basic(customer), json={
            "serviceDeskId": "HELP", "requestTypeId": "22",
            "requestFieldValues": {"summary": "Как добавить пользователя?"}}).json()["issueKey"]
        requests.post(f"{sb.url}/rest/servicedeskapi/request/{key}/transition", headers=basic(sb.email),
                      json={"id": "911", "additionalComment": {"body": "не актуально"}}).raise_for_status()
        assert sb.wait_for_webhooks()
        with sb.state.lock:
            customer_id = sb.state.by_email[customer].account_id
            admin_id = sb.state.admin.account_id
    bodies = receiver.bodies()
    assert bodies[0]["webhookEvent"] == "jira:issue_created" and bodies[0]["user"]["accountId"] == customer_id
    assert bodies[0]["issue"]["fields"]["reporter"]["accountId"] == customer_id
    updates = [b for b in bodies[1:] if "user" in b]
    assert updates and all(b["user"]["accountId"] == admin_id for b in updates)
    assert bodies[1]["webhookEvent"] == "comment_created" and bodies[1]["comment"]["author"]["accountId"] == admin_id
