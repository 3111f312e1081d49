"""What a mail says beyond "something changed": the rating ask on resolution, and the request's attachments.

Against the stand-in JSM and a real SMTP server (aiosmtpd), as in test_delivery.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update

from sync.jobs import refresh_attachments
from sync.models import OutboxAction, User
from tests.notify.conftest import mail_env, notify
from tests.notify.test_participants import set_participants, with_participants


def _ru(env, email: str) -> None:  # type: ignore[no-untyped-def]
    with env.runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == email).values(locale="ru"))


def _parts(mail) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def test_resolution_asks_the_reporter_once_for_a_rating_with_a_working_link(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    _ru(env, "customer1@example.com")
    key = env.raise_request()
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "In Progress"})
    env.sync_in()
    notify(env)
    text, html = _parts(inbox.messages[-1])
    assert "#rate-form" not in text + html and "Оцените" not in text  # not resolved yet: no rating ask

    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "Resolved"})  # an agent resolves it
    env.sync_in()
    notify(env)
    notify(env)
    assert len(inbox.messages) == 2 and all("customer1@example.com" in str(m["To"]) for m in inbox.messages)
    text, html = _parts(inbox.messages[-1])
    link = f"http://portal.test/tickets/{key}#rate-form"
    assert "Ваша заявка решена. Оцените, пожалуйста, нашу работу от 1 до 5" in text and link in text
    assert f'<a href="{link}">Оценить заявку</a>' in html
    assert text.count("#rate-form") == 1
    # The link works: signed in, the reporter finds the rating form it points at and rates.
    env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    page = env.client.get(link.removeprefix("http://portal.test").split("#")[0])
    form = re.search(r'<form method="post" action="([^"]+)" class="action-form" id="rate-form">',
                     page.get_data(as_text=True))
    assert page.status_code == 200 and form is not None
    assert env.client.post(form.group(1), data={"score": "5"}).status_code in (200, 302, 303)
    with env.runtime.sessions() as db:
        rating = db.scalars(select(OutboxAction).where(OutboxAction.kind == "rate")).one()
        assert rating.payload["score"] == 5 and rating.ticket_id == env.ticket(key).id


def test_nobody_but_the_reporter_is_asked_for_a_rating(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = with_participants(make_env, database_url, controller)
    key = env.raise_request()
    set_participants(env, key, ["customer4@example.com"])  # maria, Acme's org viewer: in scope
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "Resolved"})
    env.sync_in()
    notify(env)
    by_reader = {str(m["To"]).split("<")[-1].rstrip(">"): _parts(m)[0] for m in inbox.messages}
    assert set(by_reader) == {"customer1@example.com", "customer4@example.com"}, by_reader
    assert "#rate-form" in by_reader["customer1@example.com"]
    maria = by_reader["customer4@example.com"]
    assert "#rate-form" not in maria and "Rate it" not in maria and "Resolved" in maria


def test_customer_visible_attachments_are_links_through_the_scoped_route_internal_ones_never(
        make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = mail_env(make_env, database_url, controller)
    key = env.raise_request()
    shown = env.sandbox_post(f"/_sandbox/requests/{key}/attachment",
                             {"filename": "screen shot.png", "content": "PNG bytes", "mime_type": "image/png"})["id"]
    report = env.sandbox_post(f"/_sandbox/requests/{key}/attachment",
                              {"filename": "report.pdf", "content": "PDF"})["id"]
    hidden = env.sandbox_post(f"/_sandbox/requests/{key}/attachment",
                              {"filename": "secret.png", "content": "internal", "public": False})["id"]
    env.sync_in()
    refresh_attachments(env.runtime, key)  # what the maintenance worker does after the attachment webhooks
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {
        "body": "See !screen shot.png|thumbnail! and [^report.pdf]; also !secret.png! and !https://evil.test/x.png!",
        "public": True})
    env.sync_in()
    notify(env)
    [mail] = inbox.to("customer1@example.com")
    text, html = _parts(mail)
    base = f"http://portal.test/tickets/{key}/attachments"
    assert f'<a href="{base}/{shown}" rel="noopener noreferrer nofollow">screen shot.png</a>' in html
    assert f'<a href="{base}/{report}" rel="noopener noreferrer nofollow">report.pdf</a>' in html
    assert f"screen shot.png <{base}/{shown}>" in text and f"report.pdf <{base}/{report}>" in text
    # The internal file and the outside image are names only: no link, no image, nothing to fetch.
    assert hidden not in text + html and "<img" not in html and "evil.test/x.png\"" not in html
    assert "secret.png" in text and not re.search(r"secret\.png\s*<", text)
    # The link works for the reporter (signed in) and only through the scoped route.
    assert env.client.get(f"{base}/{shown}".removeprefix("http://portal.test")).status_code in (302, 401)
    env.client.post("/login", data={"email": "customer1@example.com", "password": "correct horse battery"})
    download = env.client.get(f"{base}/{shown}".removeprefix("http://portal.test"))
    assert download.status_code == 200 and download.data == b"PNG bytes"
    assert env.client.get(f"{base}/{hidden}".removeprefix("http://portal.test")).status_code == 404
