"""Mapping API end to end: preview, publish with re-projection, versions, rollback, unmapped statuses."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from sync.models import AuditEntry, StatusHistory, Ticket
from tests.conftest import make_settings
from tests.helpers import bearer, drain, issue_payload, make_account, post_webhook


@pytest.fixture
def mapped(tmp_path: Path, any_database_url: str, redis_url: str, redis_client):  # type: ignore[no-untyped-def]
    """An install with three tickets (one in a status no rule knows) and an admin and a customer token."""
    from app import create_app

    app = create_app(make_settings(tmp_path, any_database_url, redis_url), {"TESTING": True})
    client, runtime = app.test_client(), app.extensions["companion"]
    post_webhook(client, issue_payload("SUP-1", jira_id="1", status="Waiting for Customer", status_id="10011",
                                       category="indeterminate", reporter_email="ann@acme.test", reporter="acc-ann"))
    post_webhook(client, issue_payload("SUP-2", jira_id="2", status="Escalated", status_id="10012",
                                       category="indeterminate"))
    post_webhook(client, issue_payload("SUP-3", jira_id="3", status="Awaiting Legal Review", status_id="99999",
                                       category="indeterminate", priority="Trivial-ish"))
    drain(runtime)
    tokens = {"admin": make_account(runtime, "root@ops.test", role="admin", org=None),
              "customer": make_account(runtime, "ann@acme.test", org="acme", jira_account_id="acc-ann")}
    yield client, runtime, tokens
    runtime.close()


def statuses(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db:
        return dict(db.execute(select(Ticket.key, Ticket.customer_status)).all())


def with_rule_for_escalated(document: dict, target: str) -> dict:
    """The same mapping with Jira's 'Escalated' sent to `target`."""
    proposal = copy.deepcopy(document)
    rule = next(r for r in proposal["status_rules"] if r.get("jira_name") == "Escalated")
    rule["customer_status"] = target
    return proposal


def test_everyone_reads_admins_see_unmapped(mapped) -> None:  # type: ignore[no-untyped-def]
    client, _runtime, tokens = mapped
    customer_view = client.get("/api/v1/mapping", headers=bearer(tokens["customer"])).json
    assert "unmapped" not in customer_view and customer_view["version"] is None
    admin_view = client.get("/api/v1/mapping", headers=bearer(tokens["admin"])).json
    unmapped = admin_view["unmapped"]
    assert [(s["name"], s["tickets"], s["falls_back_to"]) for s in unmapped["statuses"]] == \
        [("Awaiting Legal Review", 1, "in_progress")]
    assert [(p["name"], p["falls_back_to"]) for p in unmapped["priorities"]] == [("Trivial-ish", "medium")]


def test_admin_endpoints_are_hidden_from_customers(mapped) -> None:  # type: ignore[no-untyped-def]
    client, _runtime, tokens = mapped
    for method, url in (("put", ""), ("post", "/preview"), ("get", "/versions"), ("post", "/rollback"),
                        ("post", "/restore-default")):
        response = getattr(client, method)(f"/api/v1/mapping{url}", json={}, headers=bearer(tokens["customer"]))
        assert response.status_code == 404, url
    assert client.put("/api/v1/mapping", json={}).status_code == 401


def test_invalid_proposal_is_400_naming_the_entry(mapped) -> None:  # type: ignore[no-untyped-def]
    client, _runtime, tokens = mapped
    document = client.get("/api/v1/mapping", headers=bearer(tokens["admin"])).json["document"]
    bad = with_rule_for_escalated(document, "no_such_status")
    for url, method in (("/api/v1/mapping/preview", client.post), ("/api/v1/mapping", client.put)):
        response = method(url, json={"document": bad}, headers=bearer(tokens["admin"]))
        assert response.status_code == 400
        assert any("no_such_status" in message for message in response.json["messages"]), response.json
    assert client.get("/api/v1/mapping/versions", headers=bearer(tokens["admin"])).json["items"] == []


def test_preview_then_publish_reprojects_and_records_real_changes_only(mapped) -> None:  # type: ignore[no-untyped-def]
    client, runtime, tokens = mapped
    admin = bearer(tokens["admin"])
    before = statuses(runtime)
    assert before == {"SUP-1": "awaiting_customer", "SUP-2": "awaiting_fix", "SUP-3": "in_progress"}
    document = client.get("/api/v1/mapping", headers=admin).json["document"]
    proposal = with_rule_for_escalated(document, "on_hold")

    preview = client.post("/api/v1/mapping/preview", json={"document": proposal}, headers=admin).json
    assert preview["status_changes"] == 1
    assert preview["moves"] == [{"from": "awaiting_fix", "to": "on_hold", "count": 1, "sample": ["SUP-2"]}]
    assert statuses(runtime) == before, "a preview changes nothing"

    published = client.put("/api/v1/mapping", json={"document": proposal, "comment": "escalations pause"},
                           headers=admin)
    assert published.status_code == 202 and published.json["version"] == 1
    from sync.jobs import reproject_all

    assert reproject_all(runtime, 1)["status_changes"] == 1  # what the queued maintenance job runs
    assert statuses(runtime) == {**before, "SUP-2": "on_hold"}
    with runtime.sessions() as db:
        history = db.execute(select(Ticket.key, StatusHistory.customer_status)
                             .join(Ticket, Ticket.id == StatusHistory.ticket_id)
                             .order_by(StatusHistory.id)).all()
    assert [h for h in history if h[0] == "SUP-2"][-1] == ("SUP-2", "on_hold")
    assert sum(1 for key, _ in history if key in ("SUP-1", "SUP-3")) == 2, "unchanged tickets got no entry"

    # Publishing the same again changes nothing and records nothing.
    client.put("/api/v1/mapping", json={"document": proposal}, headers=admin)
    assert reproject_all(runtime, 2)["status_changes"] == 0

    # Roll back to the default (version 1 is the first publish; roll back further by re-publishing).
    client.put("/api/v1/mapping", json={"document": document}, headers=admin)
    reproject_all(runtime, 3)
    assert statuses(runtime) == before
    rolled = client.post("/api/v1/mapping/rollback", json={"version": 1}, headers=admin)
    assert rolled.status_code == 202 and rolled.json["version"] == 4
    reproject_all(runtime, 4)
    assert statuses(runtime)["SUP-2"] == "on_hold"
    versions = client.get("/api/v1/mapping/versions", headers=admin).json["items"]
    assert [(v["version"], v["active"]) for v in versions] == [(4, True), (3, False), (2, False), (1, False)]
    assert versions[-1]["comment"] == "escalations pause" and versions[-1]["author"] == "root@ops.test"
    with runtime.sessions() as db:  # every publish and the rollback are in the audit log, with their actor
        audited = db.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.actor_email)
                             .where(AuditEntry.action.startswith("mapping.")).order_by(AuditEntry.id)).all()
    assert audited[-1] == ("mapping.rollback", "mapping version 4", "root@ops.test")
    assert [a for a, _t, _e in audited].count("mapping.publish") == 3


def test_publish_and_its_audit_entry_commit_together(mapped, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The audit entry is written in the publishing transaction: if it cannot be written, nothing is published."""
    client, runtime, tokens = mapped
    admin = bearer(tokens["admin"])
    document = client.get("/api/v1/mapping", headers=admin).json["document"]
    assert client.put("/api/v1/mapping", json={"document": document}, headers=admin).status_code == 202

    def broken_record(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr("app.api.mapping.record", broken_record)
    with pytest.raises(RuntimeError):
        client.put("/api/v1/mapping", json={"document": document, "comment": "lost"}, headers=admin)
    with pytest.raises(RuntimeError):
        client.post("/api/v1/mapping/rollback", json={"version": 1}, headers=admin)
    with pytest.raises(RuntimeError):
        client.post("/api/v1/mapping/restore-default", json={}, headers=admin)
    versions = client.get("/api/v1/mapping/versions", headers=admin).json["items"]
    assert [(v["version"], v["active"]) for v in versions] == [(1, True)]
    with runtime.sessions() as db:
        audited = db.execute(select(AuditEntry.action, AuditEntry.target)
                             .where(AuditEntry.action.startswith("mapping."))).all()
    assert audited == [("mapping.publish", "mapping version 1")]


def test_restore_default_publishes_the_default_again_and_reprojects(mapped) -> None:  # type: ignore[no-untyped-def]
    from sync.jobs import reproject_all

    client, runtime, tokens = mapped
    admin = bearer(tokens["admin"])
    document = client.get("/api/v1/mapping", headers=admin).json["document"]
    assert client.put("/api/v1/mapping", json={"document": with_rule_for_escalated(document, "on_hold")},
                      headers=admin).status_code == 202
    reproject_all(runtime, 1)
    assert statuses(runtime)["SUP-2"] == "on_hold"
    assert client.post("/api/v1/mapping/restore-default", json={"comment": 7}, headers=admin).status_code == 400
    response = client.post("/api/v1/mapping/restore-default", json={"comment": "back to normal"}, headers=admin)
    assert response.status_code == 202 and response.json["version"] == 2, response.json
    reproject_all(runtime, 2)
    assert statuses(runtime)["SUP-2"] == "awaiting_fix"
    assert client.get("/api/v1/mapping", headers=admin).json["document"] == document
    versions = client.get("/api/v1/mapping/versions", headers=admin).json["items"]
    newest = versions[0]
    assert (newest["version"], newest["active"], newest["comment"]) == (2, True, "back to normal")
    with runtime.sessions() as db:
        assert "mapping.restore_default" in set(db.scalars(select(AuditEntry.action)))


def _signed_in(client, email: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Sign in through the form (CSRF on, as in production); the CSRF header the editor's script sends."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"email": email, "password": "correct horse battery", "csrf_token": token})
    return {"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)}


def test_editor_preview_in_words_is_for_admins_and_names_a_bad_proposal(mapped) -> None:  # type: ignore[no-untyped-def]
    customer = mapped[0].application.test_client()
    csrf = _signed_in(customer, "ann@acme.test")
    assert customer.post("/admin/mapping/preview", json={"default": True}, headers=csrf).status_code == 404
    client = mapped[0].application.test_client()
    csrf = _signed_in(client, "root@ops.test")
    assert client.post("/admin/mapping/preview", json={"default": True}).status_code == 400  # no CSRF header
    document = client.get("/api/v1/mapping").json["document"]
    words = client.post("/admin/mapping/preview", json={"document": with_rule_for_escalated(document, "on_hold")},
                        headers=csrf)
    assert words.status_code == 200
    assert "1 request now shown as “On hold” instead of “Waiting for a fix” <span class=\"muted\">(SUP-2)" in words.text
    for body in ({"version": 42}, {"document": "nope"}, [], {"document": with_rule_for_escalated(document, "x")}):
        refused = client.post("/admin/mapping/preview", json=body, headers=csrf)
        assert refused.status_code == 400 and "mapping-problems" in refused.text, (body, refused.text)
