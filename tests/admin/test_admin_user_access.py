"""One user's access through the JSON API and the CLI: tokens (last use, revoke), reset link, "view as".

404 for customers and other organisations' org admins, 400 naming the field, an audit entry per change.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.cli import main
from sync.models import ApiToken, AuditEntry, User
from tests.helpers import bearer, make_account
from tests.portal.conftest import seed

FORM = {"new_password": "a brand new secret", "confirm_password": "a brand new secret"}


@pytest.fixture
def tokens(runtime: Any) -> dict[str, str]:
    tokens = seed(runtime)  # acme (alice, viewer, lead), globex (gina), admin; each with a token "test"
    tokens["acme_admin"] = make_account(runtime, "boss@acme.test", "org_admin", "acme")
    tokens["globex_admin"] = make_account(runtime, "boss@globex.test", "org_admin", "globex")
    return tokens


def _id(runtime: Any, email: str) -> int:
    with runtime.sessions() as db:
        return db.scalars(select(User.id).where(User.email == email)).one()


def _token_id(runtime: Any, email: str) -> int:
    with runtime.sessions() as db:
        return db.scalars(select(ApiToken.id).join(User).where(User.email == email)).one()


def _audit(runtime: Any, action: str) -> list[tuple[str | None, str]]:
    with runtime.sessions() as db:
        return list(db.execute(select(AuditEntry.actor_email, AuditEntry.target)
                               .where(AuditEntry.action == action).order_by(AuditEntry.id)).all())


def _paths(runtime: Any) -> list[tuple[str, str]]:
    alice, token = _id(runtime, "alice@acme.test"), _token_id(runtime, "alice@acme.test")
    return [("get", f"/api/v1/admin/users/{alice}/tokens"),
            ("post", f"/api/v1/admin/users/{alice}/tokens/{token}/revoke"),
            ("post", f"/api/v1/admin/users/{alice}/reset-link"),
            ("get", f"/api/v1/admin/users/{alice}/view-as/tickets"),
            ("get", f"/api/v1/admin/users/{alice}/view-as/tickets/SUP-1")]


@pytest.mark.parametrize("who", ["alice", "viewer", "globex_admin", "gina"])
def test_customers_and_other_organisations_get_404_and_change_nothing(client: Any, runtime: Any, tokens: Any,
                                                                      who: str) -> None:
    for method, path in _paths(runtime):
        response = getattr(client, method)(path, headers=bearer(tokens[who]))
        assert response.status_code == 404, (who, path)
    assert client.get("/api/v1/tickets", headers=bearer(tokens["alice"])).status_code == 200  # not revoked
    with runtime.sessions() as db:
        assert db.scalars(select(AuditEntry)).first() is None


def test_org_admin_manages_tokens_and_reset_links_of_their_organisation_but_not_view_as(
        client: Any, runtime: Any, tokens: Any) -> None:
    boss = bearer(tokens["acme_admin"])
    alice = _id(runtime, "alice@acme.test")
    assert client.get("/api/v1/tickets", headers=bearer(tokens["alice"])).status_code == 200
    listed = client.get(f"/api/v1/admin/users/{alice}/tokens", headers=boss).json["items"]
    assert [(t["name"], t["revoked"]) for t in listed] == [("test", None)] and listed[0]["last_used"]
    revoked = client.post(f"/api/v1/admin/users/{alice}/tokens/{listed[0]['id']}/revoke", headers=boss)
    assert revoked.status_code == 200 and revoked.json["revoked"]
    assert client.get("/api/v1/tickets", headers=bearer(tokens["alice"])).status_code == 401
    assert client.post(f"/api/v1/admin/users/{alice}/tokens/999999/revoke", headers=boss).status_code == 404
    assert _audit(runtime, "token.revoke") == [("boss@acme.test", "user alice@acme.test")]
    link = client.post(f"/api/v1/admin/users/{alice}/reset-link", headers=boss)
    assert link.status_code == 201 and link.json["valid_hours"] == 1
    assert _audit(runtime, "user.reset_link") == [("boss@acme.test", "user alice@acme.test")]
    path = urlsplit(link.json["reset_url"]).path
    assert client.post(path, data=FORM).status_code == 302  # the link works once
    assert client.get(path).status_code == 404
    assert client.get(f"/api/v1/admin/users/{alice}/view-as/tickets", headers=boss).status_code == 404


def test_reset_link_for_a_deactivated_user_is_400_naming_the_field(client: Any, runtime: Any, tokens: Any) -> None:
    admin = bearer(tokens["admin"])
    alice = _id(runtime, "alice@acme.test")
    client.patch(f"/api/v1/admin/users/{alice}", json={"active": False}, headers=admin)
    response = client.post(f"/api/v1/admin/users/{alice}/reset-link", headers=admin)
    assert response.status_code == 400 and response.json["field"] == "active" and "active" in response.json["error"]
    assert _audit(runtime, "user.reset_link") == []


def test_view_as_answers_what_the_user_sees_and_is_audited(client: Any, runtime: Any, tokens: Any) -> None:
    admin = bearer(tokens["admin"])
    for email in ("alice@acme.test", "viewer@acme.test"):
        user = _id(runtime, email)
        for query in ("", "?scope=org", "?status=resolved,closed&scope=org"):
            own = client.get(f"/api/v1/tickets{query}", headers=bearer(tokens[email.split("@")[0]]))
            seen = client.get(f"/api/v1/admin/users/{user}/view-as/tickets{query}", headers=admin)
            assert seen.status_code == own.status_code, (email, query)
            if own.status_code == 200:
                assert [t["key"] for t in seen.json["items"]] == [t["key"] for t in own.json["items"]]
                assert [t["can"] for t in seen.json["items"]] == [t["can"] for t in own.json["items"]]
                assert seen.json["viewed_as"] == email
    alice = _id(runtime, "alice@acme.test")
    assert client.get(f"/api/v1/admin/users/{alice}/view-as/tickets/SUP-1", headers=admin).json["key"] == "SUP-1"
    hidden = client.get(f"/api/v1/admin/users/{alice}/view-as/tickets/GLX-1", headers=admin)
    assert hidden.status_code == 404 and "alice@acme.test" in hidden.json["error"]
    assert len(_audit(runtime, "view_as.read")) == 8


@pytest.mark.parametrize(("query", "field"), [("?page=x", "page"), ("?per_page=0", "per_page"),
                                              ("?scope=galaxy", "scope")])
def test_view_as_bad_input_is_400_naming_the_field(client: Any, runtime: Any, tokens: Any, query: str,
                                                   field: str) -> None:
    alice = _id(runtime, "alice@acme.test")
    response = client.get(f"/api/v1/admin/users/{alice}/view-as/tickets{query}", headers=bearer(tokens["admin"]))
    assert response.status_code == 400 and response.json["field"] == field


def test_view_as_of_oneself_or_a_deactivated_user_is_400(client: Any, runtime: Any, tokens: Any) -> None:
    admin = bearer(tokens["admin"])
    me = _id(runtime, "admin@example.test")
    assert client.get(f"/api/v1/admin/users/{me}/view-as/tickets", headers=admin).json["field"] == "user"
    gina = _id(runtime, "gina@globex.test")
    client.patch(f"/api/v1/admin/users/{gina}", json={"active": False}, headers=admin)
    assert client.get(f"/api/v1/admin/users/{gina}/view-as/tickets", headers=admin).status_code == 400


def test_cli_parity_tokens_revoke_reset_link_and_view_as(cli_env: Any, client: Any, tokens: Any,
                                                         capsys: Any) -> None:
    token_id = _token_id(cli_env, "alice@acme.test")
    assert client.get("/api/v1/tickets", headers=bearer(tokens["alice"])).status_code == 200
    assert main(["users", "tokens", "alice@acme.test"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.split()[:2] == [str(token_id), "active"] and "never" not in line  # just used
    assert main(["users", "revoke-token", "alice@acme.test", str(token_id)]) == 0
    assert client.get("/api/v1/tickets", headers=bearer(tokens["alice"])).status_code == 401
    assert main(["users", "revoke-token", "alice@acme.test", "999999"]) == 1
    assert "no token 999999" in capsys.readouterr().err
    assert main(["users", "reset-link", "alice@acme.test"]) == 0
    path = urlsplit(capsys.readouterr().out.strip().splitlines()[-1]).path
    assert client.post(path, data=FORM).status_code == 302
    assert main(["users", "view-as", "viewer@acme.test", "--scope", "org"]) == 0
    listed = capsys.readouterr().out
    assert "SUP-1" in listed and "GLX-1" not in listed
    assert main(["users", "view-as", "alice@acme.test", "--key", "GLX-1"]) == 3
    assert "not in the scope of alice@acme.test" in capsys.readouterr().out
    assert main(["users", "tokens", "nobody@acme.test"]) == 1
    assert [a for a, _t in _audit(cli_env, "token.revoke")] == ["cli"]
    assert len(_audit(cli_env, "user.reset_link")) == 1 and len(_audit(cli_env, "view_as.read")) == 2


def _every_admin_route(app: Any, ids: dict[str, Any]) -> list[tuple[str, str]]:
    """Every /api/v1/admin route the app serves (from its URL map), with real ids filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/admin"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(ids[m.group(1)]), rule.rule)
            routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_every_admin_endpoint_answers_404_to_customers_and_other_organisations_admins(
        app: Any, client: Any, runtime: Any, tokens: Any) -> None:
    """Derived from the URL map, so an endpoint added later is covered without editing this test."""
    acme_org = client.get("/api/v1/admin/organizations", headers=bearer(tokens["admin"])).json["items"][0]["id"]
    ids = {"user_id": _id(runtime, "alice@acme.test"), "token_id": _token_id(runtime, "alice@acme.test"),
           "org_id": acme_org, "action_id": 1, "event_id": 1, "key": "SUP-1"}
    routes = _every_admin_route(app, ids)
    assert len(routes) >= 20
    for who in ("alice", "viewer", "globex_admin"):
        for method, path in routes:
            response = client.open(path, method=method, json={}, headers=bearer(tokens[who]))
            if who == "globex_admin" and path.split("?")[0] in ("/api/v1/admin/users", "/api/v1/admin/groups",
                                                                "/api/v1/admin/roles", "/api/v1/admin/audit"):
                continue  # their own organisation's lists (tested to hold nothing of acme's elsewhere)
            assert response.status_code == 404, (who, method, path, response.status_code)
    with runtime.sessions() as db:
        assert db.scalars(select(AuditEntry)).first() is None  # and nothing changed
