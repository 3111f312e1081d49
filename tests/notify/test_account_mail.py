"""Invitation and reset mails through a real SMTP server: each arrives once; its link works once, expires."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from sync.models import ApiToken, MailState, OutgoingMail, User
from tests.notify.conftest import mail_env, notify

_LINK = re.compile(r"http://portal\.test(/(?:invite|password/reset)/\S+)")
_FORM = {"new_password": "a long new password", "confirm_password": "a long new password"}


def _link(mail: Any) -> str:
    found = _LINK.search(mail.get_body(("plain",)).get_content())
    assert found, mail.get_body(("plain",)).get_content()
    return found.group(1)


def _later(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """The signer's clock moves on: the only way to age a signed link without waiting for it."""
    now = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + seconds)


def test_api_invitation_arrives_once_and_its_link_works_once(make_env, database_url, smtp,
                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    answer = env.client.post("/api/v1/admin/users", headers=env.headers("admin"),
                             json={"email": "new@acme.test", "role": "customer", "organization": "acme"})
    assert answer.status_code == 201, answer.json
    notify(env)
    notify(env)  # nothing is sent twice
    mails = inbox.to("new@acme.test")
    assert len(mails) == 1 and len(inbox.messages) == 1
    assert mails[0]["Subject"] == "You are invited to JSM Companion"
    path = _link(mails[0])
    assert answer.json["invitation_url"] == "http://portal.test" + path  # one link: mailed and answered
    with env.runtime.sessions() as db:
        stored = db.scalars(select(OutgoingMail)).one()
        assert stored.kind == "invite" and stored.state == MailState.SENT and stored.answer.startswith("250")
        assert stored.raw is None  # the one-time link does not stay in the database

    assert env.client.get(path).status_code == 200
    assert env.client.post(path, data=_FORM).status_code == 302
    assert env.client.get("/").status_code == 200
    assert env.client.get(path).status_code == 404  # single use
    env.client.post("/logout")
    assert env.client.post("/login", data={"email": "new@acme.test",
                                           "password": _FORM["new_password"]}).status_code == 302

    expiring = env.client.post("/api/v1/admin/users", headers=env.headers("admin"),
                               json={"email": "late@acme.test", "role": "customer", "organization": "acme"})
    late = expiring.json["invitation_url"].removeprefix("http://portal.test")
    _later(monkeypatch, 6 * 86400)
    assert env.client.get(late).status_code == 200  # six days on: still good
    _later(monkeypatch, 7 * 86400 + 60)
    assert env.client.get(late).status_code == 404  # past seven days: gone


def test_forgot_password_mails_a_one_hour_single_use_link_and_ends_other_sessions(
        make_env, database_url, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    other_device = env.app.test_client()
    other_device.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert other_device.get("/").status_code == 200

    known = env.client.post("/password/forgot", data={"email": "Customer1@example.com"})
    unknown = env.client.post("/password/forgot", data={"email": "nobody@example.com"})
    # The same answer whether or not the address has an account.
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    notify(env)
    assert len(inbox.messages) == 1 and "customer1@example.com" in str(inbox.messages[0]["To"])
    path = _link(inbox.messages[0])
    assert path.startswith("/password/reset/")

    _later(monkeypatch, 3600 + 60)
    assert env.client.get(path).status_code == 404  # an hour on: expired
    monkeypatch.undo()
    assert env.client.get(path).status_code == 200
    # As the reset form sends it: "Also revoke my API tokens" comes ticked (the password may have leaked).
    assert env.client.post(path, data={**_FORM, "revoke_tokens": "1"}).status_code == 302
    assert env.client.get("/").status_code == 200  # this browser is signed in with the new password
    assert env.client.get(path).status_code == 404  # single use
    assert other_device.get("/").status_code == 302  # the other session ended
    with env.runtime.sessions() as db:
        user = db.scalars(select(User).where(User.email == "customer1@example.com")).one()
        assert db.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                 ApiToken.revoked_at.is_(None))).all() == []
    assert env.client.get("/api/v1/tickets", headers=env.headers("alice")).status_code == 401


def test_forgot_password_is_rate_limited_per_address(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    _inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    codes = [env.client.post("/password/forgot", data={"email": "nobody@example.com"}).status_code
             for _ in range(4)]
    assert codes == [302, 302, 302, 429]
    assert env.client.get("/password/forgot").status_code == 200  # the form itself stays reachable
