"""Admin pages render for admins (and org admins where allowed), 404 for others; forms change and audit."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select

from sync.models import ApiToken, AuditEntry
from tests.helpers import make_account

PASSWORD = "correct horse battery"


def _sign_in(client: Any, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302


@pytest.fixture
def accounts(runtime: Any) -> None:
    make_account(runtime, "root@example.test", "admin", None)
    make_account(runtime, "boss@acme.test", "org_admin", "acme")
    make_account(runtime, "alice@acme.test", "customer", "acme")
    make_account(runtime, "gina@globex.test", "customer", "globex")


PAGES = ["/admin/organizations", "/admin/users", "/admin/groups", "/admin/roles", "/admin/audit"]


@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_render_in_both_languages(client: Any, accounts: None, path: str) -> None:
    _sign_in(client, "root@example.test")
    for lang in ("en", "ru"):
        response = client.get(f"{path}?lang={lang}")
        assert response.status_code == 200
    assert "Администрирование" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [*PAGES, "/admin/"])
def test_customers_get_404(client: Any, accounts: None, path: str) -> None:
    _sign_in(client, "alice@acme.test")
    assert client.get(path).status_code == 404
    assert "/admin/" not in client.get("/").get_data(as_text=True)


def test_org_admin_sees_only_their_organisation(client: Any, accounts: None) -> None:
    _sign_in(client, "boss@acme.test")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "alice@acme.test" in page and "gina@globex.test" not in page
    assert '<option value="org_admin">' in page and '<option value="admin">' not in page  # only grantable roles
    assert client.get("/admin/organizations").status_code == 404


def test_invite_and_deactivate_through_the_forms(client: Any, accounts: None) -> None:
    _sign_in(client, "root@example.test")
    page = client.post("/admin/users", data={"email": "new@acme.test", "role": "customer",
                                             "organization": "acme"}).get_data(as_text=True)
    assert "/invite/" in page
    bad = client.post("/admin/users", data={"email": "nope", "organization": "acme"}, follow_redirects=True)
    assert "email" in bad.get_data(as_text=True)
    users = client.get("/api/v1/admin/users").json["items"]
    new = next(u for u in users if u["email"] == "new@acme.test")
    unconfirmed = client.post(f"/admin/users/{new['id']}", data={"active": "0"}, follow_redirects=True)
    assert "confirmation" in unconfirmed.get_data(as_text=True)
    client.post(f"/admin/users/{new['id']}", data={"active": "0", "confirm": "yes"})
    assert next(u for u in client.get("/api/v1/admin/users").json["items"] if u["id"] == new["id"])["active"] is False
    assert "user.invite" in client.get("/admin/audit").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["'slug' must be lowercase letters", "the organisation acme already exists",
            "nope is not an e-mail address", "Tick the confirmation box"]),
    ("ru", ["«slug»: только строчные латинские буквы", "организация acme уже есть",
            "nope — не адрес электронной почты", "Отметьте подтверждение"])])
def test_validation_messages_name_the_field_in_the_reader_language(client: Any, runtime: Any, accounts: None,
                                                                   lang: str, expected: list[str]) -> None:
    _sign_in(client, "root@example.test")
    client.get(f"/admin/users?lang={lang}")  # the language is remembered for the session
    pages = [client.post("/admin/organizations", data={"slug": "Bad Slug", "name": "X"}, follow_redirects=True),
             client.post("/admin/organizations", data={"slug": "acme", "name": "X"}, follow_redirects=True),
             client.post("/admin/users", data={"email": "nope", "organization": "acme"}, follow_redirects=True)]
    alice = next(u["id"] for u in client.get("/api/v1/admin/users").json["items"] if u["email"] == "alice@acme.test")
    with runtime.sessions() as db:
        token = db.scalars(select(ApiToken.id).where(ApiToken.user_id == alice)).one()
    pages.append(client.post(f"/admin/users/{alice}/tokens/{token}/revoke", data={}, follow_redirects=True))
    for page, text in zip(pages, expected, strict=True):
        assert text in html.unescape(page.get_data(as_text=True))
    with runtime.sessions() as db:  # nothing was changed by any of them
        assert db.get(ApiToken, token).revoked_at is None
        assert db.scalars(select(AuditEntry)).first() is None
