"""GET /api/v1/tickets and /api/v1/tickets/<key>: tokens, scopes, tenant isolation, public comments only."""

from __future__ import annotations

import pytest

from tests.helpers import bearer, drain, issue_payload, make_account, post_webhook


def comment_event(issue_id: str, key: str, comment_id: str, body: str, public: bool | None,
                  author: str = "agent-1") -> dict:
    comment = {"id": comment_id, "self": f"https://x/rest/api/2/issue/{issue_id}/comment/{comment_id}",
               "author": {"accountId": author, "displayName": "Agent Smith"}, "body": body,
               "created": "2026-01-01T11:00:00.000+0000", "updated": "2026-01-01T11:00:00.000+0000"}
    if public is not None:
        comment["jsdPublic"] = public
    return {"timestamp": 1, "webhookEvent": "comment_created", "comment": comment,
            "issue": {"id": issue_id, "key": key, "fields": {"project": {"key": key.split("-")[0]}}}}


@pytest.fixture
def two_orgs(client, runtime):  # type: ignore[no-untyped-def]
    """Tickets of Acme (alice reported SUP-1, bob SUP-2) and of Globex (carol reported SUP-3)."""
    tokens = {
        "alice": make_account(runtime, "alice@acme.test", org="acme", jira_account_id="acc-alice"),
        "bob": make_account(runtime, "bob@acme.test", org="acme", jira_account_id="acc-bob"),
        "viewer": make_account(runtime, "boss@acme.test", role="org_viewer", org="acme"),
        "carol": make_account(runtime, "carol@globex.test", org="globex", jira_account_id="acc-carol"),
        "admin": make_account(runtime, "root@ops.test", role="admin", org=None),
    }
    post_webhook(client, issue_payload("SUP-1", jira_id="1", reporter="acc-alice", reporter_email="alice@acme.test"))
    post_webhook(client, issue_payload("SUP-2", jira_id="2", reporter="acc-bob", reporter_email="bob@acme.test",
                                       status="Waiting for Customer", category="indeterminate", priority="Lowest"))
    post_webhook(client, issue_payload("SUP-3", jira_id="3", reporter="acc-carol",
                                       reporter_email="carol@globex.test"))
    post_webhook(client, comment_event("1", "SUP-1", "501", "We are on it", True))
    post_webhook(client, comment_event("1", "SUP-1", "502", "INTERNAL: customer is difficult", False))
    post_webhook(client, comment_event("1", "SUP-1", "503", "DC comment, visibility unknown", None))
    drain(runtime)
    return tokens


def keys(client, token: str, query: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/tickets{query}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return sorted(item["key"] for item in response.json["items"])


def test_requires_a_valid_bearer_token(client, two_orgs) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.get("/api/v1/tickets", headers=bearer("jsmc_forged")).status_code == 401
    assert client.get("/api/v1/tickets/SUP-1", headers={"Authorization": "Basic abc"}).status_code == 401


def test_scopes_by_role(client, two_orgs) -> None:  # type: ignore[no-untyped-def]
    assert keys(client, two_orgs["alice"]) == ["SUP-1"]
    assert keys(client, two_orgs["viewer"], "?scope=org") == ["SUP-1", "SUP-2"]
    assert keys(client, two_orgs["carol"]) == ["SUP-3"]
    assert keys(client, two_orgs["admin"], "?scope=org") == ["SUP-1", "SUP-2", "SUP-3"]
    wider = client.get("/api/v1/tickets?scope=org", headers=bearer(two_orgs["alice"]))
    assert wider.status_code == 400 and "not available" in wider.json["error"]


def test_other_organisations_tickets_answer_404(client, two_orgs) -> None:  # type: ignore[no-untyped-def]
    for who, key in (("carol", "SUP-1"), ("alice", "SUP-3"), ("viewer", "SUP-3"), ("alice", "NOPE-9")):
        response = client.get(f"/api/v1/tickets/{key}", headers=bearer(two_orgs[who]))
        assert response.status_code == 404, (who, key)
    assert client.get("/api/v1/tickets/SUP-2", headers=bearer(two_orgs["viewer"])).status_code == 200


def test_ticket_shape_and_only_public_comments(client, two_orgs) -> None:  # type: ignore[no-untyped-def]
    ticket = client.get("/api/v1/tickets/SUP-1", headers=bearer(two_orgs["alice"])).json
    assert {"key", "summary", "request_type", "organization", "status", "status_label", "status_description",
            "bucket", "priority", "priority_label", "created", "updated", "resolved", "reporter", "can",
            "sync", "comments", "history"} <= set(ticket)
    assert ticket["organization"] == "Acme"
    assert ticket["created"].endswith("Z") and ticket["updated"] == "2026-01-01T10:00:00Z"
    assert "jira" not in ticket, "Jira internals are for admins only"
    assert [c["id"] for c in ticket["comments"]] == ["501"]
    assert "INTERNAL" not in str(ticket) and "visibility unknown" not in str(ticket)
    assert ticket["comments"][0]["from_support"] is True
    assert ticket["history"] == [{"status": "open", "at": "2026-01-01T10:00:00Z"}]
    admin_view = client.get("/api/v1/tickets/SUP-1", headers=bearer(two_orgs["admin"])).json
    assert admin_view["jira"]["status"] == "Waiting for Support"


def test_filters_search_and_paging(client, two_orgs) -> None:  # type: ignore[no-untyped-def]
    viewer = two_orgs["viewer"]
    assert keys(client, viewer, "?scope=org&status=awaiting_customer") == ["SUP-2"]
    assert keys(client, viewer, "?scope=org&priority=low") == ["SUP-2"]
    assert keys(client, viewer, "?scope=org&q=sup-1") == ["SUP-1"]
    page = client.get("/api/v1/tickets?scope=org&per_page=1&page=2", headers=bearer(viewer)).json
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (2, 2, 1, 1)
    bad = client.get("/api/v1/tickets?per_page=100000", headers=bearer(viewer))
    assert bad.status_code == 400 and "per_page" in bad.json["error"]


def test_comment_html_is_sanitised(client, runtime, two_orgs) -> None:  # type: ignore[no-untyped-def]
    evil = '<script>alert(1)</script> [click|javascript:alert(1)] <img src=x onerror=alert(1)> *bold*'
    post_webhook(client, comment_event("1", "SUP-1", "504", evil, True))
    drain(runtime)
    comments = client.get("/api/v1/tickets/SUP-1", headers=bearer(two_orgs["alice"])).json["comments"]
    html = next(c["body_html"] for c in comments if c["id"] == "504")
    # Markup typed by a person shows as text; only our own tags (from wiki markup) are real HTML.
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript' not in html
    assert "<strong>bold</strong>" in html
