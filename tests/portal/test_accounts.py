"""Sign in/out hardening, forced password change, login rate limit, API tokens, cookies and CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.services.accounts import password_matches
from sync.models import User
from tests.helpers import bearer, make_account
from tests.portal.conftest import PASSWORD, sign_in


def test_sign_in_and_out(client, seeded):
    assert client.get("/").status_code == 302
    bad = sign_in(client, "viewer@acme.test", "wrong password")
    assert bad.status_code == 401 and b"Wrong email or password" in bad.data
    assert sign_in(client, "nobody@acme.test").status_code == 401
    ok = sign_in(client, "viewer@acme.test")
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_next_parameter_is_never_an_open_redirect(client, seeded):
    for target, expected in [("//evil.example/x", "/"), ("https://evil.example", "/"), ("/summary", "/summary"),
                             ("/\\evil.example", "/")]:
        response = client.post("/login", data={"email": "viewer@acme.test", "password": PASSWORD, "next": target})
        assert response.headers["Location"] == expected, target
        client.post("/logout")


def test_session_cookie_flags(app, seeded):
    client = app.test_client()
    response = sign_in(client, "viewer@acme.test")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client().post("/login", data={"email": "viewer@acme.test", "password": PASSWORD},
                                     base_url="https://portal.example")
    assert "Secure" in secure.headers["Set-Cookie"]
    page = client.get("/")
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_login_is_rate_limited_per_address_and_email(client, seeded):
    for _ in range(10):
        assert sign_in(client, "viewer@acme.test", "wrong").status_code == 401
    limited = sign_in(client, "viewer@acme.test", PASSWORD)
    assert limited.status_code == 429 and b"Too many sign-in attempts" in limited.data
    # Another account from the same address is not locked out by someone hammering the first.
    assert sign_in(client, "alice@acme.test").status_code == 302


def test_forced_password_change_on_first_sign_in(client, seeded, runtime):
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == "alice@acme.test").values(must_change_password=True))
    response = sign_in(client, "alice@acme.test")
    assert response.headers["Location"] == "/account/password"
    for url in ("/", "/summary", "/tickets/SUP-1", "/account/tokens"):
        assert client.get(url).headers.get("Location") == "/account/password", url
    other = client.application.test_client()
    sign_in(other, "alice@acme.test")
    form = {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}
    assert client.post("/account/password", data=form).status_code == 400
    form = {"current_password": "wrong", "new_password": "a much better one", "confirm_password": "a much better one"}
    assert client.post("/account/password", data=form).status_code == 400
    form["current_password"] = PASSWORD
    assert client.post("/account/password", data=form).headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302  # the other session died with the old password
    client.post("/logout")
    assert sign_in(client, "alice@acme.test").status_code == 401
    assert sign_in(client, "alice@acme.test", "a much better one").headers["Location"] == "/"


def test_api_tokens_shown_once_work_and_revoke(client, seeded):
    sign_in(client, "viewer@acme.test")
    # Shown in the answer to the POST itself (never kept in the session cookie for a later page).
    page = client.post("/account/tokens", data={"name": "monitoring"}).get_data(as_text=True)
    token = page.split('id="token-value" class="mono" readonly value="')[1].split('"')[0]
    assert token.startswith("jsmc_") and "monitoring" in page
    assert token not in client.get("/account/tokens").get_data(as_text=True)  # shown once
    assert client.get("/api/v1/tickets?scope=org", headers=bearer(token)).status_code == 200
    from sqlalchemy import select

    from sync.models import ApiToken

    with client.application.extensions["companion"].sessions() as db:
        token_id = db.scalars(select(ApiToken.id).where(ApiToken.name == "monitoring")).one()
    client.post(f"/account/tokens/{token_id}/revoke")
    assert client.get("/api/v1/tickets", headers=bearer(token)).status_code == 401


def test_every_form_requires_csrf(settings, seeded):
    from app import create_app

    app = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    assert client.post("/login", data={"email": "viewer@acme.test", "password": PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"email": "viewer@acme.test", "password": PASSWORD,
                                       "csrf_token": csrf}).status_code == 302
    for url in ("/logout", "/account/tokens", "/account/password", "/summary/share", "/summary/share/revoke"):
        assert client.post(url, data={}).status_code == 400, url
    app.extensions["companion"].close()


@pytest.mark.real_password_hashes
def test_passwords_are_stored_as_salted_scrypt_hashes(runtime):
    """The real hash (the other tests use a cheap one to save time): scrypt, salted, never the password."""
    make_account(runtime, "one@acme.test", password=PASSWORD)
    make_account(runtime, "two@acme.test", password=PASSWORD)
    with runtime.sessions() as db:
        users = db.scalars(select(User).where(User.email.in_(["one@acme.test", "two@acme.test"]))).all()
    hashes = [user.password_hash for user in users]
    assert all(h.startswith("scrypt:") and PASSWORD not in h for h in hashes), hashes
    assert hashes[0] != hashes[1]  # a salt of its own each
    assert all(password_matches(user, PASSWORD) and not password_matches(user, "wrong") for user in users)
