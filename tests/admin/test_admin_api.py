"""The accounts admin API: 404 outside the caller's reach, 400 naming the field, an audit entry per change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import bearer, make_account


@pytest.fixture
def tokens(runtime: Any) -> dict[str, str]:
    return {
        "admin": make_account(runtime, "root@example.test", "admin", None),
        "acme_admin": make_account(runtime, "boss@acme.test", "org_admin", "acme"),
        "globex_admin": make_account(runtime, "boss@globex.test", "org_admin", "globex"),
        "alice": make_account(runtime, "alice@acme.test", "customer", "acme"),
    }


def _audit(client: Any, token: str) -> list[dict[str, Any]]:
    return client.get("/api/v1/admin/audit", headers=bearer(token)).json["items"]


ADMIN_ONLY = [("get", "/api/v1/admin/organizations", None),
              ("post", "/api/v1/admin/organizations", {"slug": "new", "name": "New"}),
              ("patch", "/api/v1/admin/organizations/1", {"name": "X"}),
              ("post", "/api/v1/admin/roles", {"name": "auditor", "permissions": ["view_org"]})]
MANAGERS = [("get", "/api/v1/admin/users", None), ("post", "/api/v1/admin/users", {"email": "n@acme.test"}),
            ("get", "/api/v1/admin/groups", None), ("post", "/api/v1/admin/groups", {"name": "g"}),
            ("get", "/api/v1/admin/roles", None), ("get", "/api/v1/admin/audit", None)]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY + MANAGERS)
def test_customers_get_404(client: Any, tokens: dict[str, str], method: str, path: str, body: Any) -> None:
    response = getattr(client, method)(path, json=body, headers=bearer(tokens["alice"]))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ONLY)
def test_org_admins_get_404_for_admin_only_endpoints(client: Any, tokens: dict[str, str], method: str, path: str,
                                                      body: Any) -> None:
    assert getattr(client, method)(path, json=body, headers=bearer(tokens["acme_admin"])).status_code == 404


def test_org_admin_sees_and_changes_only_their_organisation(client: Any, tokens: dict[str, str]) -> None:
    acme = client.get("/api/v1/admin/users", headers=bearer(tokens["acme_admin"])).json["items"]
    assert {u["email"] for u in acme} == {"boss@acme.test", "alice@acme.test"}
    globex_boss = next(u for u in client.get("/api/v1/admin/users", headers=bearer(tokens["admin"])).json["items"]
                       if u["email"] == "boss@globex.test")
    other = client.patch(f"/api/v1/admin/users/{globex_boss['id']}", json={"active": False},
                         headers=bearer(tokens["acme_admin"]))
    assert other.status_code == 404
    invite_elsewhere = client.post("/api/v1/admin/users", json={"email": "x@globex.test", "organization": "globex"},
                                   headers=bearer(tokens["acme_admin"]))
    assert invite_elsewhere.status_code == 404
    too_much = client.post("/api/v1/admin/users", json={"email": "x@acme.test", "role": "admin"},
                           headers=bearer(tokens["acme_admin"]))
    assert too_much.status_code == 400 and too_much.json["field"] == "role"


def test_org_admin_invites_a_colleague_with_an_invitation_link(client: Any, tokens: dict[str, str]) -> None:
    response = client.post("/api/v1/admin/users", json={"email": "Colleague@Acme.test", "role": "org_viewer"},
                           headers=bearer(tokens["acme_admin"]))
    assert response.status_code == 201, response.json
    assert response.json["organization"] == "acme" and "/invite/" in response.json["invitation_url"]
    entry = _audit(client, tokens["acme_admin"])[0]
    assert entry["action"] == "user.invite" and entry["actor"] == "boss@acme.test"
    assert all(e["target"] != "organization globex" for e in _audit(client, tokens["globex_admin"]))
    assert not any(e["action"] == "user.invite" for e in _audit(client, tokens["globex_admin"]))


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/admin/organizations", {"slug": "Bad Slug", "name": "X"}, "slug"),
    ("/api/v1/admin/organizations", {"slug": "ok"}, "name"),
    ("/api/v1/admin/users", {"email": "not-an-address", "organization": "acme"}, "email"),
    ("/api/v1/admin/users", {"email": "a@b.test", "organization": "nowhere"}, "organization"),
    ("/api/v1/admin/users", {"email": "a@b.test", "role": "emperor", "organization": "acme"}, "role"),
    ("/api/v1/admin/users", {"email": "a@b.test", "organization": "acme", "groups": ["nope"]}, "groups"),
    ("/api/v1/admin/groups", {"name": "", "organization": "acme"}, "name"),
    ("/api/v1/admin/groups", {"name": "g", "organization": "acme", "roles": ["nope"]}, "roles"),
    ("/api/v1/admin/roles", {"name": "x y"}, "name"),
    ("/api/v1/admin/roles", {"name": "auditor", "permissions": ["fly"]}, "permissions"),
    ("/api/v1/admin/users", [1, 2], "body"),
])
def test_bad_input_is_400_naming_the_field(client: Any, tokens: dict[str, str], path: str, body: Any,
                                           field: str) -> None:
    response = client.post(path, json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 400
    assert response.json["field"] == field and field in response.json["error"]


def test_patch_validates_fields(client: Any, tokens: dict[str, str]) -> None:
    users = client.get("/api/v1/admin/users", headers=bearer(tokens["admin"])).json["items"]
    alice = next(u for u in users if u["email"] == "alice@acme.test")
    for body, field in (({"active": "no"}, "active"), ({"role": "emperor"}, "role"),
                        ({"organization": "nowhere"}, "organization")):
        response = client.patch(f"/api/v1/admin/users/{alice['id']}", json=body, headers=bearer(tokens["admin"]))
        assert response.status_code == 400 and response.json["field"] == field


def test_every_change_is_audited(client: Any, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    org = client.post("/api/v1/admin/organizations", json={"slug": "initech", "name": "Initech"}, headers=admin)
    assert org.status_code == 201 and org.json["members"] == 0
    assert client.patch(f"/api/v1/admin/organizations/{org.json['id']}",
                        json={"name": "Initech Ltd", "jira_org_id": "7"}, headers=admin).json["jira_org_id"] == "7"
    role = client.post("/api/v1/admin/roles", json={"name": "auditor", "permissions": ["view_org", "export"]},
                       headers=admin)
    assert role.status_code == 201 and role.json["permissions"] == ["export", "view_org"]
    group = client.post("/api/v1/admin/groups", json={"name": "ops", "organization": "initech",
                                                      "roles": ["auditor"]}, headers=admin)
    assert group.status_code == 201
    user = client.post("/api/v1/admin/users", json={"email": "p@initech.test", "organization": "Initech Ltd",
                                                    "groups": ["ops"]}, headers=admin)
    assert user.status_code == 201 and user.json["groups"] == ["ops"]
    assert client.patch(f"/api/v1/admin/users/{user.json['id']}", json={"active": False},
                        headers=admin).json["active"] is False
    actions = [e["action"] for e in _audit(client, tokens["admin"])]
    assert actions[:6] == ["user.update", "user.invite", "group.create", "role.create", "organization.update",
                           "organization.create"]
    roles = {r["name"]: r for r in client.get("/api/v1/admin/roles", headers=admin).json["items"]}
    assert roles["org_admin"]["builtin"] and "manage_org_users" in roles["org_admin"]["permissions"]
    assert not roles["auditor"]["builtin"]


def test_deactivation_ends_api_tokens_and_sessions_at_once(client: Any, runtime: Any, tokens: dict[str, str]) -> None:
    alice = bearer(tokens["alice"])
    assert client.get("/api/v1/tickets", headers=alice).status_code == 200
    users = client.get("/api/v1/admin/users", headers=bearer(tokens["admin"])).json["items"]
    alice_id = next(u["id"] for u in users if u["email"] == "alice@acme.test")
    client.post("/login", data={"email": "alice@acme.test", "password": "correct horse battery"})
    assert client.get("/").status_code == 200  # alice's open portal session
    client.patch(f"/api/v1/admin/users/{alice_id}", json={"active": False}, headers=bearer(tokens["admin"]))
    assert client.get("/api/v1/tickets", headers=alice).status_code == 401
    assert client.get("/").status_code == 302
    # Reactivating does not bring the old session or token back.
    client.patch(f"/api/v1/admin/users/{alice_id}", json={"active": True}, headers=bearer(tokens["admin"]))
    assert client.get("/api/v1/tickets", headers=alice).status_code == 401
    assert client.get("/").status_code == 302
