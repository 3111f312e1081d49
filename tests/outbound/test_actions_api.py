"""Every customer action through the API against the stand-in JSM: lands once, no echo, scope, mapping."""

from __future__ import annotations

from sqlalchemy import select

from sync.models import Comment, OutboxAction, StatusHistory


def _comments(env, key: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json["comments"]


def _jsm(env, key: str) -> dict:  # type: ignore[no-untyped-def]
    return env.sandbox_state()["requests"][key]


def test_create_lands_once_on_behalf_of_the_customer(env) -> None:  # type: ignore[no-untyped-def]
    types = env.client.get("/api/v1/request-types?service_desk=SUP&fields=1", headers=env.headers()).json
    incident = next(t for t in types["items"][0]["request_types"] if t["id"] == "11")
    assert {f["field_id"] for f in incident["fields"]} >= {"summary", "priority", "customfield_10201"}

    body = {"service_desk": "SUP", "request_type": "11", "summary": "Printer on fire", "description": "Smoke",
            "priority": "High", "fields": {"customfield_10201": "Production"}}
    response = env.client.post("/api/v1/tickets", json=body, headers=env.headers())
    assert response.status_code == 202, response.json
    assert response.json["sync"]["state"] == "pending"
    uuid = response.json["action"]["uuid"]

    env.push_all()
    action = env.client.get(f"/api/v1/actions/{uuid}", headers=env.headers()).json
    assert action["state"] == "done", action
    key = action["result_key"]
    state = env.sandbox_state()
    assert state["counts"]["requests"] == 1
    with env.sb.state.lock:
        req = env.sb.state.get(key)
        assert req.reporter.email == "customer1@example.com", "raised on behalf of the customer"
        assert req.priority_id == "2" and req.custom["customfield_10201"] == "10301"
    # The customer sees it at once (the push applied it), in their organisation.
    ticket = env.client.get(f"/api/v1/tickets/{key}", headers=env.headers())
    assert ticket.status_code == 200 and ticket.json["sync"]["state"] == "synced"
    assert env.client.get(f"/api/v1/tickets/{key}", headers=env.headers("maria")).status_code == 404  # mine only
    # A retried submission with the same Idempotency-Key is the same submission.
    again = env.client.post("/api/v1/tickets", json=body, headers={**env.headers(), "Idempotency-Key": "k1"})
    same = env.client.post("/api/v1/tickets", json=body, headers={**env.headers(), "Idempotency-Key": "k1"})
    assert again.json["action"]["uuid"] == same.json["action"]["uuid"]


def test_create_is_validated_against_jsm_field_metadata(env) -> None:  # type: ignore[no-untyped-def]
    post = lambda body: env.client.post("/api/v1/tickets", json=body, headers=env.headers())  # noqa: E731
    base = {"service_desk": "HELP", "request_type": "23", "summary": "Invoice"}
    missing = post(base)
    assert missing.status_code == 400 and missing.json["field"] == "fields.customfield_10200"
    wrong = post({**base, "fields": {"customfield_10200": "pizza"}})
    assert wrong.status_code == 400 and "not one of" in wrong.json["error"]
    assert post({**base, "summary": ""}).json["field"] == "summary"
    assert post({**base, "request_type": "11"}).json["field"] == "request_type"
    assert post({**base, "service_desk": "NOPE"}).json["field"] == "service_desk"
    assert post({**base, "fields": {"customfield_10200": "other"}}).status_code == 202
    with env.runtime.sessions() as db:
        assert db.scalar(select(OutboxAction.payload))["fields"] == {"customfield_10200": {"id": "10304"}}


def test_comment_appears_pending_then_lands_once_without_echo(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    response = env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "It smokes again"},
                               headers=env.headers())
    assert response.status_code == 202, response.json
    assert response.json["comment"]["sync"]["state"] == "pending"
    assert response.json["sync"]["state"] == "pending"
    [pending] = _comments(env, key)
    assert pending["id"] is None and pending["sync"]["state"] == "pending" and not pending["from_support"]

    env.push_all()
    assert env.sandbox_state()["counts"]["comments"] == 1
    [landed] = _comments(env, key)
    assert landed["id"] is not None and landed["sync"]["state"] == "synced"
    assert landed["author"] == "Alice Brown" and not landed["from_support"], "the echo changed nothing"
    assert "It smokes again" in landed["body_html"] and "via the customer portal" not in landed["body_html"]
    with env.sb.state.lock:
        assert "Alice Brown" in env.sb.state.get(key).comments[0].body  # agents see who wrote it


def test_comment_webhook_winning_the_race_is_linked_not_duplicated(env) -> None:  # type: ignore[no-untyped-def]
    from sync.jsm.gateway import JsmGateway
    from sync.outbound.push import push

    key = env.raise_request()
    env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "race me"}, headers=env.headers())
    original = JsmGateway.add_comment

    def add_then_webhook(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        created = original(self, *args, **kwargs)
        env.sync_in()  # the webhook is applied before the push records JSM's id
        return created

    JsmGateway.add_comment = add_then_webhook  # type: ignore[method-assign]
    try:
        with env.runtime.sessions() as db:
            action_id = db.scalar(select(OutboxAction.id))
        assert push(env.runtime, action_id) == "done"
    finally:
        JsmGateway.add_comment = original  # type: ignore[method-assign]
    env.sync_in()
    with env.runtime.sessions() as db:
        rows = db.scalars(select(Comment)).all()
    assert len(rows) == 1 and rows[0].jira_id and rows[0].outbox_action_id == action_id


def test_resolve_with_comment_rate_and_reopen(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    assert env.client.post(f"/api/v1/tickets/{key}/reopen", json={}, headers=env.headers()).status_code == 409
    assert env.client.post(f"/api/v1/tickets/{key}/rating", json={"score": 5},
                           headers=env.headers()).status_code == 409
    resolved = env.client.post(f"/api/v1/tickets/{key}/resolve", json={"comment": "Fixed by a reboot"},
                               headers=env.headers())
    assert resolved.status_code == 202 and resolved.json["sync"]["pending"][0]["action"] == "resolve"
    second = env.client.post(f"/api/v1/tickets/{key}/cancel", json={}, headers=env.headers())
    assert second.status_code == 409, "one status change at a time"
    env.push_all()
    assert _jsm(env, key)["status"] == "Resolved"
    assert env.sandbox_state()["counts"]["comments"] == 1
    ticket = env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json
    assert ticket["status"] == "resolved" and ticket["sync"]["state"] == "synced"
    assert [c["sync"]["state"] for c in ticket["comments"]] == ["synced"] and not ticket["comments"][0]["from_support"]

    bad = env.client.post(f"/api/v1/tickets/{key}/rating", json={"score": 6}, headers=env.headers())
    assert bad.status_code == 400 and bad.json["field"] == "score"
    assert env.client.post(f"/api/v1/tickets/{key}/rating", json={"score": 4, "comment": "quick"},
                           headers=env.headers()).status_code == 202
    env.push_all()
    with env.sb.state.lock:
        assert env.sb.state.get(key).feedback == {"rating": 4, "comment": "quick"}

    assert env.client.post(f"/api/v1/tickets/{key}/reopen", json={}, headers=env.headers()).status_code == 202
    env.push_all()
    assert _jsm(env, key)["status"] == "Waiting for Support"
    assert env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json["status"] == "open"
    with env.runtime.sessions() as db:
        history = [h.customer_status for h in db.scalars(select(StatusHistory).order_by(StatusHistory.at))]
    assert history == ["open", "resolved", "open"]


def test_cancel(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    assert env.client.post(f"/api/v1/tickets/{key}/cancel", json={"comment": "not needed"},
                           headers=env.headers("maria")).status_code == 404, "maria sees her own only"
    assert env.client.post(f"/api/v1/tickets/{key}/cancel", json={"comment": "not needed"},
                           headers=env.headers()).status_code == 202
    env.push_all()
    assert _jsm(env, key)["status"] == "Canceled"
    assert env.ticket(key).customer_status == "canceled"


def test_scope_roles_and_validation(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    other = env.raise_request(reporter="customer2@example.com")
    assert env.client.post(f"/api/v1/tickets/{other}/comments", json={"body": "hi"},
                           headers=env.headers()).status_code == 404
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "hi"},
                           headers=env.headers("ivan")).status_code == 404
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "hi"},
                           headers=env.headers("viewer")).status_code == 403
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": " "},
                           headers=env.headers()).json["field"] == "body"
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "x"}).status_code == 401
    with env.runtime.sessions() as db:
        assert db.scalars(select(OutboxAction)).all() == []


def test_comment_and_resolve_on_any_database(make_env, any_database_url) -> None:  # type: ignore[no-untyped-def]
    env = make_env(any_database_url)
    key = env.raise_request()
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "db check"},
                           headers=env.headers()).status_code == 202
    assert env.client.post(f"/api/v1/tickets/{key}/resolve", json={}, headers=env.headers()).status_code == 202
    env.push_all()
    state = env.sandbox_state()
    assert state["counts"]["comments"] == 1 and state["requests"][key]["status"] == "Resolved"
    ticket = env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json
    assert ticket["status"] == "resolved" and [c["sync"]["state"] for c in ticket["comments"]] == ["synced"]


def test_reply_to_a_waiting_request_moves_its_meaning_at_once_and_jsm_confirms(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "Waiting for Customer"})
    env.sync_in()
    before = env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json
    assert before["status"] == "awaiting_customer" and before["status_label"] == "Waiting for your reply"
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "Version 4.2"},
                           headers=env.headers()).status_code == 202
    # Optimistic: the reply is not in JSM yet, but the request no longer reads as waiting for the customer.
    sent = env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json
    assert sent["status_label"] == "Reply sent to support" and sent["status_optimistic"] is True
    assert sent["status"] == "awaiting_customer", "the stored status stays JSM's until JSM confirms"
    env.push_all()
    # Confirmed by JSM: the comment handler performed the customer's "Respond to support" transition.
    assert _jsm(env, key)["status"] == "Waiting for Support"
    after = env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json
    assert after["status"] == "open" and "status_optimistic" not in after
    assert env.sandbox_state()["counts"]["comments"] == 1
    # A reply to a request not waiting for the customer moves nothing.
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "And 4.3"},
                           headers=env.headers()).status_code == 202
    env.push_all()
    assert _jsm(env, key)["status"] == "Waiting for Support"
