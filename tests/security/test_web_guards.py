"""Cookie-authenticated writes, the forced password change on the API, one-time secrets, /metrics, proxies."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select, update

from sync.models import User
from tests.conftest import make_settings
from tests.helpers import bearer, make_account
from tests.portal.conftest import PASSWORD, sign_in

TOKEN = "metrics-token-0123456789"


def test_a_same_site_form_post_with_the_admin_cookie_cannot_requeue_an_outbox_action(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "admin@example.test", "admin", None)
    sign_in(client, "admin@example.test")
    # What a <form method=post> on any page of the site sends: the cookie, a form body, no JSON.
    response = client.post("/api/v1/admin/outbox/1/retry", data={"x": "1"})
    assert response.status_code == 403
    assert "application/json" in response.json["error"]
    # Script calls of the portal itself (JSON, or the custom header) still go through to the view.
    assert client.post("/api/v1/admin/outbox/1/retry", json={}).status_code == 404
    assert client.post("/api/v1/admin/outbox/1/retry", headers={"X-Requested-With": "fetch"}).status_code == 404


def test_bearer_calls_need_no_json(client, runtime) -> None:  # type: ignore[no-untyped-def]
    token = make_account(runtime, "admin@example.test", "admin", None)
    assert client.post("/api/v1/admin/outbox/1/retry", headers=bearer(token)).status_code == 404


def test_the_forced_password_change_applies_to_the_api_with_the_same_cookie(client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).values(must_change_password=True))
    sign_in(client, "alice@acme.test")
    assert client.get("/").status_code == 302  # the portal sends them to the password page
    response = client.get("/api/v1/tickets")
    assert response.status_code == 403 and "password" in response.json["error"]
    client.post("/account/password", data={"current_password": PASSWORD, "new_password": "another long passphrase",
                                           "confirm_password": "another long passphrase"})
    with runtime.sessions() as db:
        assert db.scalars(select(User.must_change_password)).one() is False
    assert client.get("/api/v1/tickets").status_code == 200


def _session_of(app, client) -> dict:  # type: ignore[no-untyped-def]
    """What the session cookie holds, read as anyone holding it can (signed, not encrypted)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value)) if cookie else {}


def test_one_time_secrets_are_in_the_response_never_in_the_cookie(app, client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "boss@acme.test", "org_viewer", "acme")
    sign_in(client, "boss@acme.test")
    page = client.post("/account/tokens", data={"name": "ci"})
    assert page.status_code == 200
    # The server-side session's id is the cookie's only credential (app.services.web_sessions).
    sign_in_keys = {"_permanent", "sid", "csrf_token", "_flashes"}
    held = _session_of(app, client)
    assert held.get("sid") and set(held) <= sign_in_keys
    share = client.post("/summary/share")
    assert share.status_code == 200 and "/s/" in share.get_data(as_text=True)
    assert set(_session_of(app, client)) <= sign_in_keys


def test_the_session_cookie_is_named_and_timed_as_intended(app, client, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    sign_in(client, "alice@acme.test")
    cookie = client.get_cookie("companion_session")
    assert cookie is not None and client.get_cookie("session") is None
    assert cookie.expires is not None
    assert 6.9 < (cookie.expires.timestamp() - time.time()) / 86400 <= 7.0


def test_metrics_need_the_token_or_loopback(tmp_path: Path, database_url: str, redis_url: str,
                                            redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    open_app = create_app(make_settings(tmp_path, database_url, redis_url), {"TESTING": True})
    client = open_app.test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 401
    open_app.extensions["companion"].close()
    guarded = create_app(make_settings(tmp_path, database_url, redis_url, metrics={"token": TOKEN}),
                         {"TESTING": True})
    client = guarded.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("wrong")).status_code == 401
    ok = client.get("/metrics", headers=bearer(TOKEN), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert ok.status_code == 200 and b"companion_" in ok.data
    guarded.extensions["companion"].close()


def test_trusted_proxy_hops_give_the_client_address_scheme_and_hsts(tmp_path: Path, database_url: str,
                                                                   redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(make_settings(tmp_path, database_url, redis_url, proxy={"trusted_hops": 1}), {"TESTING": True})
    client = app.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    response = client.get("/healthz", headers=forwarded)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    # The proxy is loopback, the client is not: /metrics sees the client.
    assert client.get("/metrics", headers=forwarded).status_code == 401
    app.extensions["companion"].close()


def test_behind_a_proxy_the_login_limit_is_per_client_and_the_cookie_is_secure(
        tmp_path: Path, database_url: str, redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    from app import create_app
    from app.portal.guard import LOGIN_LIMIT

    app = create_app(make_settings(tmp_path, database_url, redis_url, proxy={"trusted_hops": 1}),
                     {"TESTING": True, "WTF_CSRF_ENABLED": False})
    make_account(app.extensions["companion"], "alice@acme.test")
    attacker = {"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "https"}
    wrong = {"email": "alice@acme.test", "password": "wrong guess"}
    statuses = [app.test_client().post("/login", data=wrong, headers=attacker).status_code
                for _ in range(int(LOGIN_LIMIT.split()[0]) + 1)]
    assert statuses[-1] == 429
    # Alice, from her own address behind the same proxy, is not locked out by the attacker.
    alice = app.test_client()
    signed_in = alice.post("/login", data={"email": "alice@acme.test", "password": PASSWORD},
                           headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"})
    assert signed_in.status_code == 302
    cookie = next(v for k, v in signed_in.headers.items() if k == "Set-Cookie" and "companion_session" in v)
    assert "Secure" in cookie and "HttpOnly" in cookie
    app.extensions["companion"].close()
