"""GET /api/v1/admin/sync and /metrics: lag, backlog, failures, JSM calls and watermarks."""

from __future__ import annotations

from types import SimpleNamespace

from sync.inbound.health import JSM_CALLS_KEY, publish_jsm_calls
from sync.models import SyncState
from tests.helpers import bearer, drain, issue_payload, make_account, post_webhook


def test_admin_sees_lag_backlog_failures_calls_and_watermarks(client, runtime, redis_client) -> None:  # type: ignore[no-untyped-def]
    post_webhook(client, issue_payload(updated="2026-01-01T10:00:00.000+0000"), delivery_id="a")
    post_webhook(client, {"webhookEvent": "comment_created", "timestamp": 1,
                          "comment": {"id": "9", "self": "https://x/rest/api/2/issue/777/comment/9",
                                      "jsdPublic": True, "body": "early"}}, delivery_id="b")
    drain(runtime)
    post_webhook(client, issue_payload(key="SUP-2", jira_id="10002"), delivery_id="c")  # not drained yet
    with runtime.sessions() as db, db.begin():
        db.add(SyncState(name="reconcile:SUP", value={"watermark_ms": 1767261600000}))
    gateway = SimpleNamespace(calls={"search": 3, "sd.comment": 1})
    publish_jsm_calls(redis_client, gateway)
    gateway.calls = {"search": 4, "sd.comment": 1}
    publish_jsm_calls(redis_client, gateway)  # only the delta is added

    token = make_account(runtime, "root@example.test", role="admin", org=None)
    body = client.get("/api/v1/admin/sync", headers=bearer(token)).json
    sup = body["projects"]["SUP"]
    assert sup["tickets"] == 1 and sup["lag_seconds"] > 0
    assert sup["newest_jira_updated_at"] == "2026-01-01T10:00:00Z" and sup["last_event_received_at"]
    assert sup["reconcile"]["watermark"] == "2026-01-01T10:00:00Z"
    assert body["inbox"]["by_state"] == {"applied": 1, "pending": 2}
    assert body["inbox"]["deferred"] == 1 and body["inbox"]["oldest_pending_age_seconds"] >= 0
    assert body["jsm_calls"] == {"search": 4, "sd.comment": 1}
    assert body["reconcile_watermarks"]["SUP"]["watermark_ms"] == 1767261600000

    metrics = client.get("/metrics").get_data(as_text=True)
    for line in ('companion_inbox_events{state="pending"} 2.0', 'companion_jsm_calls{kind="search"} 4.0',
                 'companion_tickets{project="SUP"} 1.0', "companion_inbox_deferred_events 1.0",
                 'companion_reconcile_watermark_timestamp_seconds{project="SUP"} 1.7672616e+09'):
        assert line in metrics, line
    assert 'companion_sync_lag_seconds{project="SUP"}' in metrics


def test_failed_events_are_listed_with_their_reasons(client, runtime) -> None:  # type: ignore[no-untyped-def]
    from sync.models import InboundEvent

    with runtime.sessions() as db, db.begin():
        db.add(InboundEvent(delivery_id="x", webhook_event="jira:issue_updated", issue_key="SUP-3",
                            payload="{}", state="failed", reason="NotAWebhook: no issue", attempts=1))
    token = make_account(runtime, "root@example.test", role="admin", org=None)
    failed = client.get("/api/v1/admin/sync?failed=5", headers=bearer(token)).json["failed_events"]
    assert [(f["issue_key"], f["reason"]) for f in failed] == [("SUP-3", "NotAWebhook: no issue")]


def test_only_admins_see_sync_health(client, runtime, redis_client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/admin/sync").status_code == 401
    for role in ("customer", "org_viewer"):
        token = make_account(runtime, f"{role}@acme.test", role=role)
        assert client.get("/api/v1/admin/sync", headers=bearer(token)).status_code == 404
    assert redis_client.hgetall(JSM_CALLS_KEY) == {}
