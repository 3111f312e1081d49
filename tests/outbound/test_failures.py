"""Faults and refusals: 429/5xx/latency retried to exactly one effect; permanent refusals fail clearly;
admin retry; no status flicker from the hops of our own transition; Data Center rating fallback."""

from __future__ import annotations

import requests
from sqlalchemy import select, update

from sync.models import OutboxAction, StatusHistory


def test_faults_retried_until_each_action_lands_exactly_once(env) -> None:  # type: ignore[no-untyped-def]
    first, second = env.raise_request(), env.raise_request(summary="second")
    env.sandbox_post("/_sandbox/faults", {"seed": 7, "rate_limit": {"every": 3, "retry_after": 0},
                                          "error_rate": 0.3, "latency_ms": 5})
    h = env.headers()
    for n in range(5):
        assert env.client.post(f"/api/v1/tickets/{first}/comments", json={"body": f"note {n}"},
                               headers=h).status_code == 202
    assert env.client.post(f"/api/v1/tickets/{second}/resolve", json={"comment": "done"}, headers=h).status_code == 202
    assert env.client.post("/api/v1/tickets", json={"service_desk": "SUP", "request_type": "13",
                                                    "summary": "Question"}, headers=h).status_code == 202
    env.push_all()
    env.sandbox_post("/_sandbox/faults", {})
    env.sync_in()
    with env.runtime.sessions() as db:
        actions = db.scalars(select(OutboxAction)).all()
        assert {a.state for a in actions} == {"done"}, [(a.kind, a.state, a.error) for a in actions]
        assert max(a.attempts for a in actions) > 1, "the faults made some pushes try again"
    state = env.sandbox_state()
    assert state["counts"]["requests"] == 3
    bodies = [c["body"] for c in state["requests"][first]["public_comments"]]
    assert sorted(b.rsplit("\n", 1)[-1] for b in bodies) == [f"note {n}" for n in range(5)]
    assert len(state["requests"][second]["public_comments"]) == 1
    assert state["requests"][second]["status"] == "Resolved"
    ticket = env.client.get(f"/api/v1/tickets/{first}", headers=h).json
    assert len(ticket["comments"]) == 5 and {c["sync"]["state"] for c in ticket["comments"]} == {"synced"}


def test_refused_actions_fail_in_the_customers_words_and_admins_can_retry(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    # JSM moved on (an agent closed it) but its webhook has not arrived: the mapping still allows both.
    requests.post(f"{env.sb.url}/_sandbox/requests/{key}/transition", json={"status": "Closed"}, timeout=10)
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json={"body": "still there?"},
                           headers=env.headers()).status_code == 202
    env.push_all()
    ticket = env.client.get(f"/api/v1/tickets/{key}", headers=env.headers()).json
    assert ticket["sync"]["state"] == "failed" and "closed" in ticket["sync"]["error"]
    assert ticket["comments"][-1]["sync"]["state"] == "failed"
    ru = env.client.get(f"/api/v1/tickets/{key}?lang=ru", headers=env.headers()).json
    assert "закрыто" in ru["sync"]["error"]

    assert env.client.get("/api/v1/admin/outbox", headers=env.headers()).status_code == 404
    [failed] = env.client.get("/api/v1/admin/outbox", headers=env.headers("admin")).json["items"]
    assert failed["error_detail"].startswith("closed:") and "closed request" in failed["jira_response"]
    assert env.client.post(f"/api/v1/admin/outbox/{failed['id']}/retry", headers=env.headers()).status_code == 404
    retried = env.client.post(f"/api/v1/admin/outbox/{failed['id']}/retry", headers=env.headers("admin"))
    assert retried.status_code == 202 and retried.json["state"] == "pending"
    assert env.client.post(f"/api/v1/admin/outbox/{failed['id']}/retry",
                           headers=env.headers("admin")).status_code == 409
    env.push_all()
    assert env.sandbox_state()["counts"]["comments"] == 0


def test_transition_jsm_no_longer_offers_fails_not_spins(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    requests.post(f"{env.sb.url}/_sandbox/requests/{key}/transition", json={"status": "Resolved"}, timeout=10)
    # The local view stays stale (the webhook is not applied yet), so the mapping still allows cancel.
    assert env.client.post(f"/api/v1/tickets/{key}/cancel", json={}, headers=env.headers()).status_code == 202
    env.push_all()
    with env.runtime.sessions() as db:
        action = db.scalars(select(OutboxAction)).one()
    assert action.state == "failed" and action.error.startswith("not_allowed_now")


def test_hops_of_our_own_transition_cause_no_flicker(env) -> None:  # type: ignore[no-untyped-def]
    key = env.raise_request()
    assert env.client.post(f"/api/v1/tickets/{key}/resolve", json={}, headers=env.headers()).status_code == 202
    admin = env.sb.state.admin.account_id
    with env.runtime.sessions() as db, db.begin():
        # As if a worker had claimed it and JSM were walking a multi-hop path with our account.
        db.execute(update(OutboxAction).values(state="sending", payload={"comment": None, "jsm_actor": admin}))
    requests.post(f"{env.sb.url}/_sandbox/requests/{key}/transition",
                  json={"status": "In Progress", "as": env.sb.email}, timeout=10)
    env.sync_in()
    assert env.ticket(key).customer_status == "open", "an intermediate hop of ours changes nothing"
    with env.runtime.sessions() as db, db.begin():
        db.execute(update(OutboxAction).values(state="pending"))
    env.push_all()
    assert env.ticket(key).customer_status == "resolved"
    with env.runtime.sessions() as db:
        history = [h.customer_status for h in db.scalars(select(StatusHistory).order_by(StatusHistory.at))]
    assert history == ["open", "resolved"]


def test_rating_falls_back_to_a_comment_on_data_center(make_env, database_url) -> None:  # type: ignore[no-untyped-def]
    env = make_env(database_url, deployment="datacenter")
    key = env.raise_request()
    requests.post(f"{env.sb.url}/_sandbox/requests/{key}/transition", json={"status": "Resolved"}, timeout=10)
    env.sync_in()
    assert env.client.post(f"/api/v1/tickets/{key}/rating", json={"score": 4, "comment": "thanks"},
                           headers=env.headers()).status_code == 202
    env.push_all()
    [comment] = env.sandbox_state()["requests"][key]["public_comments"]
    assert "★★★★☆ (4/5)" in comment["body"] and "thanks" in comment["body"]
    with env.sb.state.lock:
        assert env.sb.state.get(key).feedback is None
