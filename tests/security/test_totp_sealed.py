"""TOTP secrets are sealed at rest: a database dump alone gives no codes; sign-in still takes a real code.

A secret an earlier release stored in plain still works and is sealed at its next accepted code; one
sealed under a secret key since rotated opens no more (the user's factor is reset from the CLI).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
from sqlalchemy import create_engine, insert, select, update

from app.services import second_factor
from app.services.secret_box import SecretBox
from sync.models import User, utcnow
from tests.conftest import make_settings
from tests.helpers import make_account
from tests.security.test_totp import _enrol, _password_step

BASE32 = re.compile(r"[A-Z2-7]+=*")


def _stored(runtime: Any, email: str) -> str:
    with runtime.sessions() as db:
        return db.scalars(select(User.totp_secret).where(User.email == email)).one()


def test_the_stored_secret_is_sealed_and_sign_in_takes_a_real_code(strict_app) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "boss@acme.test", "org_admin", "acme")
    secret, _codes = _enrol(_password_step(strict_app, "boss@acme.test"))
    stored = _stored(runtime, "boss@acme.test")
    assert BASE32.fullmatch(secret) and not BASE32.fullmatch(stored) and secret not in stored
    assert SecretBox(runtime.settings.effective_secret_key, b"jsm-companion totp secrets v1").open(stored) == secret
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).values(totp_last_step=None))  # as if the enrolment code were long ago
    client = _password_step(strict_app, "boss@acme.test")
    assert client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/").status_code == 200


def test_a_plain_secret_of_an_earlier_release_works_and_is_sealed_on_use(strict_app) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "boss@acme.test", "org_admin", "acme")
    secret = pyotp.random_base32()
    with runtime.sessions() as db, db.begin():
        db.execute(update(User).values(totp_secret=secret, totp_enabled_at=utcnow()))
    client = _password_step(strict_app, "boss@acme.test")
    assert client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    stored = _stored(runtime, "boss@acme.test")
    assert stored != secret and not BASE32.fullmatch(stored)
    with runtime.sessions() as db:  # the sealed secret gives the next code too
        user = db.scalars(select(User)).one()
        later = utcnow() + timedelta(minutes=5)
        assert second_factor.check_totp(user, pyotp.TOTP(secret).at(later), runtime.settings, now=later)


def test_a_rotated_secret_key_opens_no_sealed_secret(strict_app, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    runtime = strict_app.extensions["companion"]
    make_account(runtime, "boss@acme.test", "org_admin", "acme")
    secret, _codes = _enrol(_password_step(strict_app, "boss@acme.test"))
    rotated = make_settings(tmp_path_factory.mktemp("rotated"), runtime.settings.database_url,
                            runtime.settings.redis_url, secret_key="another-secret-key")
    later = utcnow() + timedelta(minutes=5)
    with runtime.sessions() as db:
        user = db.scalars(select(User)).one()
        assert not second_factor.check_totp(user, pyotp.TOTP(secret).at(later), rotated, now=later)
        assert second_factor.check_totp(user, pyotp.TOTP(secret).at(later), runtime.settings, now=later)


def test_the_migrated_column_holds_a_sealed_secret(any_database_url: str) -> None:
    """Migration 0013 widens users.totp_secret (PostgreSQL enforces the length; SQLite does not)."""
    sealed = SecretBox("any key", b"jsm-companion totp secrets v1").seal(pyotp.random_base32())
    engine = create_engine(any_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(User).values(email="x@example.test", role="customer", totp_secret=sealed))
            assert conn.execute(select(User.totp_secret)).scalar_one() == sealed
    finally:
        engine.dispose()
