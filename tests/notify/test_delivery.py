"""Notifications end to end: the stand-in JSM changes a request, our inbox applies it, a real SMTP server receives."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from sync.models import MailState, OutgoingMail, User
from tests.notify.conftest import _Handler, mail_env, notify


def _set_locale(env, email: str, locale: str) -> None:  # type: ignore[no-untyped-def]
    with env.runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == email).values(locale=locale))


def test_public_support_reply_reaches_the_reporter_once_in_their_language(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    _set_locale(env, "customer1@example.com", "ru")
    key = env.raise_request()
    notify(env)
    assert inbox.messages == []  # raising a request is the customer's own doing: no mail

    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "h2. Готово\n\nПроверьте, пожалуйста.",
                                                           "public": True})
    env.sync_in()
    notify(env)
    notify(env)  # a second drain finds nothing more to send
    mails = inbox.to("customer1@example.com")
    assert len(mails) == 1, [m["Subject"] for m in inbox.messages]
    mail = mails[0]
    assert len(inbox.messages) == 1  # nobody else follows this request
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Проверьте, пожалуйста." in text and "Открыть заявку" in text
    assert "<h2>Готово</h2>" in html
    assert f"http://portal.test/tickets/{key}" in text
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["In-Reply-To"] == mail["References"] and key in mail["References"]
    # The link works: signed in, the reporter opens the request the mail points at.
    env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert env.client.get(f"/tickets/{key}").status_code == 200
    with env.runtime.sessions() as db:
        stored = db.scalars(select(OutgoingMail)).one()
        assert stored.state == MailState.SENT and stored.answer.startswith("250")
        assert stored.message_id == mail["Message-ID"]


def test_internal_comment_same_customer_status_and_other_organisations_reach_nobody(make_env, database_url,
                                                                                    smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    key = env.raise_request()
    other = env.raise_request(reporter="customer2@example.com")  # Romashka's request
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "In Progress"})
    env.sync_in()
    notify(env)
    assert len(inbox.messages) == 1  # open → in progress is a change of customer status
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "internal: the DB is on fire", "public": False})
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "Проверяется"})  # still in_progress
    env.sync_in()
    notify(env)
    assert len(inbox.messages) == 1, [m.get_body(("plain",)).get_content() for m in inbox.messages]
    # Romashka's request: Acme's people are never told, its own reporter is.
    env.sandbox_post(f"/_sandbox/requests/{other}/comment", {"body": "Fixed", "public": True})
    env.sync_in()
    notify(env)
    assert [str(m["To"]) for m in inbox.messages[1:]] == [inbox.messages[-1]["To"]]
    assert "customer2@example.com" in str(inbox.messages[-1]["To"])
    assert not any("internal" in m.get_body(("plain",)).get_content() for m in inbox.messages)


def test_twenty_changes_in_the_window_make_one_mail(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller, coalesce=3600)
    key = env.raise_request()
    for i in range(20):
        env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": f"update number {i}", "public": True})
    env.sync_in()
    notify(env)
    assert inbox.messages == []  # the window is still open
    notify(env, later=True)
    assert len(inbox.messages) == 1
    text = inbox.messages[0].get_body(("plain",)).get_content()
    assert all(f"update number {i}" in text for i in range(20))


def test_bulk_change_of_fifty_requests_makes_one_mail_per_user(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller, coalesce=60)
    keys = [env.sandbox_post("/_sandbox/requests", {"reporter": reporter, "request_type": "11"})["key"]
            for reporter in ["customer1@example.com", "customer4@example.com"] * 25]
    env.sync_in()
    for key in keys:
        env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "In Progress"})
    env.sync_in()
    notify(env, later=True)
    assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in inbox.messages) == \
        ["customer1@example.com", "customer4@example.com"]
    assert "25" in str(inbox.messages[0]["Subject"])


def test_smtp_down_then_up_every_message_arrives_once(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    keys = [env.raise_request(), env.raise_request(reporter="customer2@example.com")]
    inbox.refuse_with = "451 4.3.0 try again later"
    for key in keys:
        env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "We are on it", "public": True})
    env.sync_in()
    notify(env)
    with env.runtime.sessions() as db:
        mails = db.scalars(select(OutgoingMail)).all()
        assert [m.state for m in mails] == [MailState.PENDING] * 2
        assert all(m.answer.startswith("451") and m.next_attempt_at is not None for m in mails)
    controller.stop()  # and now the server is gone altogether
    notify(env, later=True)
    inbox.refuse_with = None
    back = Controller(_Handler(inbox), hostname="127.0.0.1", port=controller.port)  # up again, same address
    back.start()
    try:
        notify(env, later=True)
        notify(env, later=True)
    finally:
        back.stop()
    assert sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in inbox.messages) == \
        ["customer1@example.com", "customer2@example.com"]
    with env.runtime.sessions() as db:
        assert {m.state for m in db.scalars(select(OutgoingMail))} == {MailState.SENT}
        assert all(m.attempts == 3 for m in db.scalars(select(OutgoingMail)))


def test_permanent_refusal_is_recorded_with_the_server_answer(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    key = env.raise_request()
    inbox.refuse_with = "550 5.1.1 mailbox unavailable"
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "Hello", "public": True})
    env.sync_in()
    notify(env)
    notify(env, later=True)
    with env.runtime.sessions() as db:
        mail = db.scalars(select(OutgoingMail)).one()
        assert mail.state == MailState.FAILED and mail.answer == "550 5.1.1 mailbox unavailable"
        assert mail.attempts == 1
    metrics = env.client.get("/metrics").get_data(as_text=True)
    assert 'companion_notification_mails{state="failed"} 1.0' in metrics
    assert "companion_notification_smtp_failures 1.0" in metrics


def test_one_click_unsubscribe_works_without_a_session(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    key = env.raise_request()
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "First", "public": True})
    env.sync_in()
    notify(env)
    link = str(inbox.messages[0]["List-Unsubscribe"]).strip().strip("<>")
    path = link.removeprefix("http://portal.test")
    anonymous = env.app.test_client()
    assert anonymous.post(path + "x", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert anonymous.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "Second", "public": True})
    env.sync_in()
    notify(env)
    assert len(inbox.messages) == 1
    token = env.tokens["alice"]
    assert env.client.get("/api/v1/me/notifications",
                          headers={"Authorization": f"Bearer {token}"}).get_json()["email"] == "off"


def test_deactivated_user_gets_nothing(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    key = env.raise_request()
    with env.runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == "customer1@example.com").values(active=False))
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "Hello", "public": True})
    env.sync_in()
    notify(env)
    assert inbox.messages == []
