"""POST /webhooks/jira: the receiver contract of DESIGN.md, against real databases and Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sync.models import InboundEvent, Ticket
from tests.conftest import make_settings, shared_jsm_dir
from tests.helpers import bearer, drain, issue_payload, make_account, post_webhook

SECRET = "s3cret-hook-of-16-bytes-or-more"


@pytest.fixture
def signed_app(tmp_path: Path, any_database_url: str, redis_url: str, redis_client):  # type: ignore[no-untyped-def]
    """An app with a webhook secret, on SQLite and on PostgreSQL."""
    from app import create_app

    settings = make_settings(tmp_path, any_database_url, redis_url, jira={"webhook_secret": SECRET})
    application = create_app(settings, {"TESTING": True})
    yield application
    application.extensions["companion"].close()


def inbox(runtime) -> list[InboundEvent]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db:
        return list(db.scalars(select(InboundEvent).order_by(InboundEvent.id)))


def test_signed_delivery_is_recorded_enqueued_and_applied(signed_app) -> None:  # type: ignore[no-untyped-def]
    client, runtime = signed_app.test_client(), signed_app.extensions["companion"]
    response = post_webhook(client, issue_payload(), secret=SECRET, delivery_id="d-1")
    assert response.status_code == 202
    assert response.json["status"] == "accepted"
    rows = inbox(runtime)
    assert [(r.delivery_id, r.state, r.issue_key) for r in rows] == [("d-1", "pending", "SUP-1")]
    assert runtime.redis.llen("rq:queue:inbound") == 1  # one drain job
    assert drain(runtime) == {"applied": 1}
    with runtime.sessions() as db:
        ticket = db.scalars(select(Ticket)).one()
    assert (ticket.key, ticket.customer_status, ticket.customer_priority, ticket.bucket) == \
        ("SUP-1", "open", "high", "open")


@pytest.mark.parametrize("header", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
def test_bad_or_missing_signature_is_401_and_records_nothing(signed_app, header) -> None:  # type: ignore[no-untyped-def]
    client = signed_app.test_client()
    headers = {"X-Hub-Signature": header} if header else {}
    response = post_webhook(client, issue_payload(), headers=headers)
    assert response.status_code == 401
    assert "X-Hub-Signature" in response.json["error"]
    assert inbox(signed_app.extensions["companion"]) == []


def test_data_center_token_query_parameter_is_accepted(signed_app) -> None:  # type: ignore[no-untyped-def]
    client = signed_app.test_client()
    body = json.dumps(issue_payload()).encode()
    assert client.post(f"/webhooks/jira?token={SECRET}", data=body).status_code == 202
    assert client.post("/webhooks/jira?token=wrong", data=body).status_code == 401


@pytest.mark.parametrize(("raw", "message"), [
    (b"not json at all", "body is not JSON"),
    (b"\xff\xfe\x00", "body is not JSON"),
    (b"[1, 2, 3]", "must be a JSON object"),
    (b'{"hello": "world"}', "no `webhookEvent`"),
    (b'{"webhookEvent": "jira:issue_updated"}', "`issue` must be an object"),
    (b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "SUP-1"}}', "must have `id` and `key`"),
    (b'{"webhookEvent": "comment_created", "comment": {"body": "x"}}', "must be an object with an `id`"),
    (b'{"webhookEvent": "comment_created", "comment": {"id": "1", "self": "http://x/y"}}', "without `issue`"),
    (b'{"webhookEvent": "jira:issue_updated", "timestamp": "yesterday", "issue": {"id": 1, "key": "A-1"}}',
     "epoch milliseconds"),
    (b'{"webhookEvent": "jira:issue_updated", "issue": {"id": 1, "key": "A-1", "fields": {"updated": "soon"}}}',
     "not a timestamp"),
])
def test_bodies_that_are_not_webhooks_are_400_with_a_reason(client, raw: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    response = post_webhook(client, None, raw=raw)
    assert response.status_code == 400
    assert message in response.json["error"]


def test_oversize_body_is_413(client) -> None:  # type: ignore[no-untyped-def]
    payload = issue_payload()
    payload["issue"]["fields"]["description"] = "x" * (1024 * 1024 + 1)
    response = post_webhook(client, payload)
    assert response.status_code == 413
    assert "1 MiB" in response.json["error"]


def test_duplicate_delivery_is_recorded_and_applied_once(client, runtime) -> None:  # type: ignore[no-untyped-def]
    first = post_webhook(client, issue_payload(), delivery_id="same")
    again = post_webhook(client, issue_payload(), delivery_id="same")
    assert (first.status_code, again.status_code, again.json) == (202, 200, {"status": "duplicate"})
    # Without the Atlassian header, the body hash identifies the delivery.
    body = issue_payload("SUP-2", jira_id="10002")
    assert post_webhook(client, body).status_code == 202
    assert post_webhook(client, body).json == {"status": "duplicate"}
    assert len(inbox(runtime)) == 2
    drain(runtime)
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 2


def test_events_of_projects_not_mirrored_and_other_kinds_are_ignored(tmp_path, database_url, redis_url,
                                                                      redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(make_settings(tmp_path, database_url, redis_url, jira={"projects": ["SUP"]}), {"TESTING": True})
    client = app.test_client()
    other = post_webhook(client, issue_payload("OPS-1"))
    assert (other.status_code, other.json["status"]) == (202, "ignored")
    assert "OPS" in other.json["reason"]
    worklog = post_webhook(client, {"webhookEvent": "worklog_created", "timestamp": 1, "worklog": {}})
    assert (worklog.status_code, worklog.json["status"]) == (202, "ignored")
    assert {r.state for r in inbox(app.extensions["companion"])} == {"ignored"}
    assert redis_client.llen("rq:queue:inbound") == 0


def test_every_real_sample_is_accepted_and_readable_through_the_api(client, runtime) -> None:  # type: ignore[no-untyped-def]
    samples = sorted((shared_jsm_dir() / "samples").glob("webhook-*.json"))
    assert len(samples) >= 11
    for path in samples:
        response = post_webhook(client, None, raw=path.read_bytes())
        assert response.status_code in (200, 202), (path.name, response.json)
    drain(runtime)
    token = make_account(runtime, "root@example.test", role="admin", org=None)
    keys = {item["key"] for item in client.get("/api/v1/tickets?scope=org&per_page=200",
                                                headers=bearer(token)).json["items"]}
    # Every issue event creates or updates its ticket; the deleted one is hidden.
    assert {"KT-22", "TES-41", "TES-4", "PRJA-42"} <= keys
    assert "IDT-19" not in keys
    detail = client.get("/api/v1/tickets/TES-41", headers=bearer(token)).json
    assert detail["status"] in ("open", "in_progress", "resolved")
    assert [c["id"] for c in detail["comments"]], "the public Cloud comment of TES-41 is shown"
    states = {r.state for r in inbox(runtime)}
    assert states <= {"applied", "pending", "failed", "ignored"}
