"""TOTP second factor with real codes from pyotp: enrolment (QR code and key shown once), the code step at
sign-in, single use, recovery codes (stored hashed), the admins' requirement and its escape hatches."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
from sqlalchemy import select, update

from app.cli import main
from app.portal.guard import SECOND_FACTOR_LIMIT
from app.services.invitations import make_link_token
from sync.models import RecoveryCode, User, WebSession, utcnow
from tests.helpers import make_account

PASSWORD = "correct horse battery"


def _password_step(app: Any, email: str) -> Any:
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    return client


def _enrol(client: Any) -> tuple[str, list[str]]:
    """Set the factor up through the pages as a person would; returns the secret and the recovery codes."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, inline: no request, no script
    secret = re.search(r'id="secret" class="mono" readonly value="([A-Z2-7]+)"', page).group(1)
    done = client.post("/account/two-factor/enable", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<li>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</li>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def test_an_admin_without_a_factor_may_only_set_it_up_then_works(strict_app) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "root@example.test", "admin", None)
    client = _password_step(strict_app, "root@example.test")
    assert client.get("/").headers["Location"].endswith("/account/two-factor")
    assert client.get("/admin/users").status_code == 302
    refused = client.get("/api/v1/admin/users")  # the same cookie on the API
    assert refused.status_code == 403 and "two-factor" in refused.json["error"]
    secret, codes = _enrol(client)
    assert client.get("/").status_code == 200 and client.get("/api/v1/admin/users").status_code == 200
    with runtime.sessions() as db:
        user = db.scalars(select(User)).one()
        assert user.totp_secret and secret not in user.totp_secret and user.totp_enabled_at is not None
        stored = db.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashed, never the codes themselves
    # Required: the admin cannot turn it off.
    client.post("/account/two-factor/disable", data={"password": PASSWORD})
    with runtime.sessions() as db:
        assert db.scalars(select(User)).one().totp_enabled_at is not None


def test_sign_in_asks_for_a_real_code_and_accepts_each_code_once(strict_app) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "boss@acme.test", "org_admin", "acme")
    secret, _codes = _enrol(_password_step(strict_app, "boss@acme.test"))
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).values(totp_last_step=None))  # as if the enrolment code were long ago
    with runtime.sessions() as db:
        before = len(db.scalars(select(WebSession)).all())
    client = _password_step(strict_app, "boss@acme.test")
    assert client.get("/").status_code == 302  # password alone is no session
    with runtime.sessions() as db:
        assert len(db.scalars(select(WebSession)).all()) == before
    wrong = client.post("/login/second-factor", data={"code": "000000"})
    assert wrong.status_code == 401
    code = pyotp.TOTP(secret).now()
    assert client.post("/login/second-factor", data={"code": code}).status_code == 302
    assert client.get("/").status_code == 200
    replay = _password_step(strict_app, "boss@acme.test")
    assert replay.post("/login/second-factor", data={"code": code}).status_code == 401
    assert replay.get("/").status_code == 302


def test_a_recovery_code_signs_in_once(strict_app) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "root@example.test", "admin", None)
    _secret, codes = _enrol(_password_step(strict_app, "root@example.test"))
    first = _password_step(strict_app, "root@example.test")
    assert first.post("/login/second-factor", data={"code": codes[3].upper()}).status_code == 302
    assert first.get("/").status_code == 200
    again = _password_step(strict_app, "root@example.test")
    assert again.post("/login/second-factor", data={"code": codes[3]}).status_code == 401
    assert "Recovery codes left: 9" in first.get("/account/two-factor").get_data(as_text=True)


def test_code_guessing_is_rate_limited_per_user(strict_app) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "root@example.test", "admin", None)
    _enrol(_password_step(strict_app, "root@example.test"))
    per_minute = int(SECOND_FACTOR_LIMIT.split()[0])
    client = _password_step(strict_app, "root@example.test")
    statuses = [client.post("/login/second-factor", data={"code": f"{n:06d}"}).status_code
                for n in range(per_minute)]
    assert statuses[:-1] == [401] * (per_minute - 1) and statuses[-1] == 302  # lapsed: password again
    other = _password_step(strict_app, "root@example.test")  # a new attempt, same user
    assert other.post("/login/second-factor", data={"code": "123456"}).status_code == 429


def test_others_may_opt_in_and_out_and_a_reset_link_still_asks_for_the_code(strict_app) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "alice@acme.test")
    client = _password_step(strict_app, "alice@acme.test")
    assert client.get("/").status_code == 200  # not required for a customer
    secret, _codes = _enrol(client)
    with runtime.sessions() as db:
        link = make_link_token(strict_app.config["SECRET_KEY"], db.scalars(select(User)).one(), "reset")
    visitor = strict_app.test_client()
    new = "a brand new passphrase"
    answer = visitor.post(f"/password/reset/{link}", data={"new_password": new, "confirm_password": new})
    assert answer.headers["Location"].endswith("/login/second-factor")
    assert visitor.get("/").status_code == 302  # the mailbox alone does not sign in
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).values(totp_last_step=None))
    assert visitor.post("/login/second-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert visitor.get("/").status_code == 200
    visitor.post("/account/two-factor/disable", data={"password": new})
    with runtime.sessions() as db:
        assert db.scalars(select(User)).one().totp_enabled_at is None


def test_the_code_step_lapses(strict_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "root@example.test", "admin", None)
    secret, _codes = _enrol(_password_step(strict_app, "root@example.test"))
    client = _password_step(strict_app, "root@example.test")
    with client.session_transaction() as session:
        session["pending_2fa"] = {**session["pending_2fa"], "t": int((utcnow() - timedelta(minutes=6)).timestamp())}
    assert client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/").status_code == 302


def test_the_cli_removes_a_lost_factor(strict_app, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "root@example.test", "admin", None)
    client = _password_step(strict_app, "root@example.test")
    _enrol(client)
    settings = runtime.settings
    # `companion users reset-2fa` in this process (the `main` of `python -m app`), on this install.
    for name, value in (("DATABASE_URL", settings.effective_database_url), ("DATA_DIR", str(tmp_path)),
                        ("SECRET_KEY", "test-secret-key"), ("REDIS_URL", settings.redis_url or "")):
        monkeypatch.setenv(f"COMPANION_{name}", value)
    monkeypatch.chdir(tmp_path)
    assert main(["users", "reset-2fa", "root@example.test"]) == 0, capsys.readouterr().err
    with runtime.sessions() as db:
        user = db.scalars(select(User)).one()
        assert user.totp_enabled_at is None and db.scalars(select(RecoveryCode)).all() == []
    assert client.get("/").status_code == 302  # signed out too
    again = _password_step(strict_app, "root@example.test")
    assert again.get("/").headers["Location"].endswith("/account/two-factor")  # set up anew
