"""/admin/mail (admins only) and `companion mail test EMAIL`, against a real SMTP server and the .eml transport."""

from __future__ import annotations

from typing import Any

import pytest

from app.cli import main
from tests.notify.conftest import mail_env, notify, smtp_url


def _sign_in(client: Any, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302


def test_admin_mail_lists_states_and_answers_and_hides_from_everybody_else(make_env, database_url,
                                                                           smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    env.client.post("/password/forgot", data={"email": "customer1@example.com"})
    inbox.refuse_with = "550 5.1.1 mailbox unavailable"
    notify(env)
    _sign_in(env.client, "admin@companion.test")
    page = env.client.get("/admin/mail/").get_data(as_text=True)
    assert "customer1@example.com" in page and "failed" in page and "550 5.1.1 mailbox unavailable" in page
    assert "Mail files" not in page  # SMTP is configured: no .eml files to list
    only_sent = env.client.get("/admin/mail/?state=sent").get_data(as_text=True)
    assert "customer1@example.com" not in only_sent
    assert env.client.get("/admin/mail/?state=nonsense").status_code == 200

    for who in ("customer1@example.com", "viewer@acme.test"):
        other = env.app.test_client()
        _sign_in(other, who)
        assert other.get("/admin/mail/").status_code == 404
        assert other.get("/admin/mail/1").status_code == 404


def test_without_smtp_the_eml_files_are_listed_and_viewable(make_env, database_url) -> None:  # type: ignore[no-untyped-def]
    env = make_env(database_url)
    assert env.runtime.settings.mail.smtp_url is None
    env.client.post("/password/forgot", data={"email": "customer1@example.com"})
    notify(env)
    _sign_in(env.client, "admin@companion.test")
    page = env.client.get("/admin/mail/").get_data(as_text=True)
    assert "Mail files" in page and ".eml" in page and "written to" in page
    name = page.split("/admin/mail/files/")[1].split('"')[0]
    shown = env.client.get(f"/admin/mail/files/{name}").get_data(as_text=True)
    assert "customer1@example.com" in shown and "/password/reset/" in shown
    assert env.client.get("/admin/mail/files/..%2Fconfig.yaml").status_code == 404
    assert env.client.get("/admin/mail/files/20260101-000000-nothere.eml").status_code == 404


def test_mail_test_prints_the_servers_answer(smtp, settings, monkeypatch: pytest.MonkeyPatch,
                                             capsys: Any) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    monkeypatch.setenv("COMPANION_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("COMPANION_MAIL_SMTP_URL", smtp_url(controller))
    monkeypatch.chdir(settings.data_dir)
    assert main(["mail", "test", "someone@example.com"]) == 0
    out = capsys.readouterr().out
    assert "250" in out and f"127.0.0.1:{controller.port}" in out
    assert len(inbox.to("someone@example.com")) == 1
    assert "test e-mail" in inbox.messages[0]["Subject"]

    inbox.refuse_with = "554 5.7.1 relaying denied"
    assert main(["mail", "test", "someone@example.com"]) == 1
    assert "554 5.7.1 relaying denied" in capsys.readouterr().err
    controller.stop()
    assert main(["mail", "test", "someone@example.com"]) == 1
    assert "cannot connect" in capsys.readouterr().err
