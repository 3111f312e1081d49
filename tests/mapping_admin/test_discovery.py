"""Unmapped values discovered from the stand-in JSM through the gateway show up for admins and in /metrics."""

from __future__ import annotations

from sandbox.testing import running_sandbox
from sync.projection.discovery import discover
from tests.conftest import make_settings
from tests.helpers import bearer, make_account


def test_statuses_and_request_types_discovered_from_jsm_are_reported(tmp_path, database_url, redis_url,
                                                                     redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    with running_sandbox(seed="empty") as jsm:
        settings = make_settings(tmp_path, database_url, redis_url,
                                 jira={"base_url": jsm.url, "email": jsm.email, "api_token": jsm.token,
                                       "allow_unsigned_webhooks": True})
        app = create_app(settings, {"TESTING": True})
        runtime = app.extensions["companion"]
        found = discover(runtime)
    assert len(found["statuses"]) >= 13 and len(found["priorities"]) == 5
    assert {s["name"] for s in found["statuses"]} >= {"Waiting for Support", "Escalated", "Проверяется"}

    # An admin narrows the mapping: one status rule and one priority rule removed.
    document = runtime.mapping.to_dict()
    document["status_rules"] = [r for r in document["status_rules"] if r.get("jira_name") != "Release Waiting"]
    document["priority_rules"] = [r for r in document["priority_rules"] if r.get("jira_name") != "Lowest"]
    document["categories"] = []
    client = app.test_client()
    admin = bearer(make_account(runtime, "root@ops.test", role="admin", org=None))
    assert client.put("/api/v1/mapping", json={"document": document}, headers=admin).status_code == 202
    unmapped = client.get("/api/v1/mapping", headers=admin).json["unmapped"]
    assert [(s["name"], s["tickets"], s["falls_back_to"]) for s in unmapped["statuses"]] == \
        [("Release Waiting", 0, "in_progress")]
    assert [p["name"] for p in unmapped["priorities"]] == ["Lowest"]
    assert {rt["name"] for rt in unmapped["request_types"]} >= {"Incident", "Consultation"}
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'companion_unmapped_jira_values{kind="status"} 1.0' in metrics
    assert 'companion_unmapped_jira_values{kind="priority"} 1.0' in metrics
    runtime.close()
