"""Control endpoints, the command line and running_sandbox's life cycle."""

from __future__ import annotations

import requests

from sandbox import catalog
from sandbox.cli import build_parser, main
from sandbox.testing import running_sandbox


def test_state_tracks_what_a_mirror_must_match(cloud):
    url = cloud.url
    created = requests.post(f"{url}/_sandbox/requests", json={
        "summary": "Нужна выгрузка", "request_type": "Documents/Finance", "priority": "High",
        "reporter": "customer5@example.com"}).json()
    key = created["key"]
    assert key.startswith("HELP-") and created["status"] == "Waiting for Support" and created["priority"] == "High"
    resp = requests.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": "видно всем", "public": True})
    cid = resp.json()["id"]
    requests.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": "только агентам", "public": False})
    requests.post(f"{url}/_sandbox/requests/{key}/transition", json={"status": "closed"}).raise_for_status()
    state = requests.get(f"{url}/_sandbox/state").json()
    mine = state["requests"][key]
    assert mine["status"] == "Closed" and mine["status_id"] == "6" and mine["priority_id"] == "2"
    assert mine["public_comments"] == [{"id": cid, "body": "видно всем"}] and len(mine["internal_comment_ids"]) == 1
    assert requests.post(f"{url}/_sandbox/requests/{key}/comment", json={"body": "late"}).status_code == 400
    assert requests.delete(f"{url}/_sandbox/requests/{key}").status_code == 204
    state = requests.get(f"{url}/_sandbox/state").json()
    assert state["requests"][key]["deleted"] is True and state["counts"]["deleted"] >= 1
    assert requests.post(f"{url}/_sandbox/requests/SUP-1/transition", json={"status": "Nope"}).status_code == 400
    assert requests.post(f"{url}/_sandbox/requests/SUP-1/priority", json={"priority": "Urgent"}).status_code == 400
    assert requests.post(f"{url}/_sandbox/requests/NOPE-1/priority", json={"priority": "Low"}).status_code == 404


def test_reset_between_seeds():
    with running_sandbox(seed="empty") as sb:
        assert requests.get(f"{sb.url}/_sandbox/state?requests=0").json()["counts"]["requests"] == 0
        r = requests.post(f"{sb.url}/_sandbox/reset", json={"seed": "bench:500"}).json()
        assert r["requests"] == 500
        assert requests.post(f"{sb.url}/_sandbox/reset", json={"seed": "bogus"}).status_code == 400
        assert requests.post(f"{sb.url}/_sandbox/reset", json={"seed": "demo"}).json()["requests"] == 300


def test_cli_arguments_and_bad_seed(capsys):
    args = build_parser().parse_args([])
    assert (args.port, args.host, args.seed, args.deployment, args.email, args.token) == (
        8081, "127.0.0.1", "demo", "cloud", "admin@sandbox.local", "sandbox-token")
    assert main(["--seed", "nonsense", "--port", "0"]) == 2
    assert "unknown seed" in capsys.readouterr().err


def test_customer_transition_names_are_stable():
    assert [(t.id, t.name) for t in catalog.CUSTOMER_TRANSITIONS] == [
        ("901", "Resolve this issue"), ("911", "Cancel request"), ("921", "Respond to support"),
        ("931", "Reopen"), ("941", "Close request")]
    assert len({s.id for s in catalog.STATUSES}) == 13
