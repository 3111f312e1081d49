"""CLI parity: orgs list, users list [--org slug|name], users disable, users invite (prints the link)."""

from __future__ import annotations

from typing import Any

from app.cli import main
from tests.helpers import bearer, make_account


def test_lists_by_slug_or_exact_name_and_disables(cli_env: Any, client: Any, capsys: Any) -> None:
    token = make_account(cli_env, "alice@acme.test", "customer", "acme")
    make_account(cli_env, "gina@globex.test", "customer", "globex")
    assert main(["orgs", "list"]) == 0
    out = capsys.readouterr().out
    assert "acme" in out and "globex" in out and "1 users" in out
    for ref in ("acme", "Acme"):
        assert main(["users", "list", "--org", ref]) == 0
        out = capsys.readouterr().out
        assert "alice@acme.test" in out and "gina" not in out
    assert main(["users", "list", "--org", "nowhere"]) == 1
    assert client.get("/api/v1/tickets", headers=bearer(token)).status_code == 200
    assert main(["users", "disable", "alice@acme.test"]) == 0
    assert "1 API token(s) revoked" in capsys.readouterr().out
    assert client.get("/api/v1/tickets", headers=bearer(token)).status_code == 401
    assert main(["users", "disable", "nobody@acme.test"]) == 1


def test_invite_prints_a_working_link(cli_env: Any, client: Any, capsys: Any) -> None:
    make_account(cli_env, "alice@acme.test", "customer", "acme")
    assert main(["users", "invite", "new@acme.test", "--role", "org_viewer", "--org", "Acme"]) == 0
    link = capsys.readouterr().out.strip().splitlines()[-1]
    path = link[link.index("/invite/"):]
    assert client.get(path).status_code == 200
    form = {"new_password": "a long new password", "confirm_password": "a long new password"}
    assert client.post(path, data=form).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get(path).status_code == 404  # single use
