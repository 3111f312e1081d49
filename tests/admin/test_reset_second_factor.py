"""An admin (or the user's own organisation's org admin) removes a lost second factor: page and JSON API.

The page's form needs the CSRF token and the confirmation box; the factor, the recovery codes and the
user's sessions go; one audit entry names who did it; anyone else (another organisation's org admin, a
customer, an org admin for an admin) gets 404 and changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select

from app import create_app
from app.services import second_factor
from app.services.web_sessions import start_session
from sync.models import AuditEntry, RecoveryCode, User, WebSession
from tests.conftest import make_settings
from tests.helpers import bearer, make_account

PASSWORD = "correct horse battery"


@pytest.fixture
def tokens(runtime: Any) -> dict[str, str]:
    tokens = {"root": make_account(runtime, "root@example.test", "admin", None),
              "alice": make_account(runtime, "alice@acme.test", "customer", "acme"),
              "boss": make_account(runtime, "boss@acme.test", "org_admin", "acme"),
              "globex_boss": make_account(runtime, "boss@globex.test", "org_admin", "globex")}
    for email in ("alice@acme.test", "root@example.test"):
        _turn_on(runtime, email)
    return tokens


def _turn_on(runtime: Any, email: str) -> None:
    """An enabled factor with recovery codes and one signed-in session, as enrolment leaves it."""
    with runtime.sessions() as db, db.begin():
        user = db.scalars(select(User).where(User.email == email)).one()
        secret = second_factor.begin_enrolment(user, runtime.settings)
        assert second_factor.confirm_enrolment(db, user, pyotp.TOTP(secret).now(), runtime.settings)
        start_session(db, user, "test", "127.0.0.1")


def _state(runtime: Any, email: str) -> tuple[bool, int, int]:
    """(factor on, recovery codes, sessions) of a user."""
    with runtime.sessions() as db:
        user = db.scalars(select(User).where(User.email == email)).one()
        codes = db.scalar(select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id))
        sessions = db.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id))
        return second_factor.is_enabled(user), codes, sessions


def _audit(runtime: Any) -> list[tuple[str | None, str, dict[str, Any]]]:
    with runtime.sessions() as db:
        return [(a.actor_email, a.target, a.details) for a in db.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.reset_2fa").order_by(AuditEntry.id))]


def _id(runtime: Any, email: str) -> int:
    with runtime.sessions() as db:
        return db.scalars(select(User.id).where(User.email == email)).one()


def test_api_org_admin_resets_their_users_factor_others_get_404(client: Any, runtime: Any, tokens: Any) -> None:
    alice, root = _id(runtime, "alice@acme.test"), _id(runtime, "root@example.test")
    assert _state(runtime, "alice@acme.test") == (True, 10, 1)
    for who, target in (("globex_boss", alice), ("alice", alice), ("boss", root), ("boss", 999_999)):
        response = client.post(f"/api/v1/admin/users/{target}/reset-2fa", headers=bearer(tokens[who]))
        assert response.status_code == 404, (who, target)
    assert _state(runtime, "alice@acme.test") == (True, 10, 1) and _state(runtime, "root@example.test")[0]
    assert _audit(runtime) == []

    done = client.post(f"/api/v1/admin/users/{alice}/reset-2fa", headers=bearer(tokens["boss"]))
    assert done.status_code == 200 and done.json == {"user": "alice@acme.test", "two_factor": False}
    assert _state(runtime, "alice@acme.test") == (False, 0, 0)
    assert _audit(runtime) == [("boss@acme.test", "user alice@acme.test", {"via": "api"})]
    assert client.post(f"/api/v1/admin/users/{root}/reset-2fa", headers=bearer(tokens["root"])).status_code == 200


def test_openapi_lists_the_reset(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/admin/users/{user_id}/reset-2fa"]


def test_page_form_is_confirmed_and_csrf_protected(tmp_path: Any, database_url: str, redis_url: str,
                                                   redis_client: Any) -> None:
    app = create_app(make_settings(tmp_path, database_url, redis_url), {"TESTING": True, "WTF_CSRF_ENABLED": True})
    runtime = app.extensions["companion"]
    try:
        make_account(runtime, "alice@acme.test", "customer", "acme")
        make_account(runtime, "boss@acme.test", "org_admin", "acme")
        make_account(runtime, "boss@globex.test", "org_admin", "globex")
        _turn_on(runtime, "alice@acme.test")
        alice = _id(runtime, "alice@acme.test")
        path = f"/admin/users/{alice}/edit"

        def signed_in(email: str) -> tuple[Any, str]:
            client = app.test_client()
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
            assert client.post("/login", data={"email": email, "password": PASSWORD,
                                               "csrf_token": token.group(1)}).status_code == 302
            page = client.get("/admin/users?lang=ru")  # a page every org admin may open
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
            return client, (csrf.group(1) if csrf else "")

        stranger, csrf = signed_in("boss@globex.test")
        assert stranger.get(path).status_code == 404
        assert stranger.post(f"/admin/users/{alice}/reset-2fa", data={"csrf_token": csrf,
                                                                      "confirm": "yes"}).status_code == 404

        boss, csrf = signed_in("boss@acme.test")
        page = boss.get(f"{path}?lang=ru").get_data(as_text=True)
        assert 'id="reset-2fa"' in page and "Сбросить двухфакторный вход" in page
        action = f"/admin/users/{alice}/reset-2fa"
        assert boss.post(action, data={"confirm": "yes"}).status_code == 400  # no CSRF token
        assert boss.post(action, data={"csrf_token": csrf}).status_code == 302  # box not ticked
        assert _state(runtime, "alice@acme.test") == (True, 10, 1) and _audit(runtime) == []

        done = boss.post(action, data={"csrf_token": csrf, "confirm": "yes"}, follow_redirects=True)
        assert done.status_code == 200 and "Двухфакторный вход снят" in done.get_data(as_text=True)
        assert _state(runtime, "alice@acme.test") == (False, 0, 0)
        assert _audit(runtime) == [("boss@acme.test", "user alice@acme.test", {"via": "page"})]
    finally:
        runtime.close()
