"""Each person's choice (instant, daily, off; the language of mails), by the API and the settings page."""

from __future__ import annotations

from sqlalchemy import select

from sync.models import Notification
from tests.notify.conftest import mail_env, notify


def test_api_reads_and_changes_the_choice_and_names_a_bad_field(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    _inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    url, auth = "/api/v1/me/notifications", env.headers("alice")
    def choice() -> tuple[str, str]:
        body = env.client.get(url, headers=auth).get_json()
        return body["email"], body["locale"]

    assert choice() == ("instant", "en")
    changed = env.client.put(url, json={"email": "daily", "locale": "ru"}, headers=auth)
    assert changed.status_code == 200 and changed.get_json()["email"] == "daily"
    assert choice() == ("daily", "ru")
    for body, field in [({"email": "weekly"}, "email"), ({"locale": "de"}, "locale"), ({"colour": "red"}, "colour"),
                        (["email"], "JSON object")]:
        refused = env.client.put(url, json=body, headers=auth)
        assert refused.status_code == 400 and field in refused.get_data(as_text=True), (body, refused.get_data())
    assert choice() == ("daily", "ru")  # nothing half-done
    assert env.client.get(url).status_code == 401


def test_settings_page_choices_decide_what_arrives(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    key = env.raise_request()
    env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    assert env.client.post("/account/notifications", data={"email": "daily"}).status_code == 303
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "First answer", "public": True})
    env.sync_in()
    notify(env)
    assert inbox.messages == []  # daily: nothing instant
    with env.runtime.sessions() as db:
        assert [n.reason for n in db.scalars(select(Notification))] == ["e-mail preference daily"]

    assert env.client.post("/account/notifications", data={"email": "instant", "locale": "ru"}).status_code == 303
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "Second answer", "public": True})
    env.sync_in()
    notify(env)
    [mail] = inbox.messages
    assert "Second answer" in mail.get_body(("plain",)).get_content()
    assert "Открыть заявку" in mail.get_body(("plain",)).get_content()  # the language chosen on the page
    assert env.client.post("/account/notifications", data={"email": "weekly"}).status_code == 303  # refused, kept
    assert env.client.get("/api/v1/me/notifications", headers=env.headers("alice")).get_json()["email"] == "instant"
