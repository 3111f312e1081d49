"""Account settings: language, time zone and theme are saved, applied, and bad values refused with a message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sync.models import User
from tests.helpers import make_account


def _sign_in(client: Any) -> None:
    make_account(client.application.extensions["companion"], "ann@acme.test")
    assert client.post("/login", data={"email": "ann@acme.test", "password": "correct horse battery"}
                       ).status_code == 302


def test_saved_language_zone_and_theme_apply_after_the_next_sign_in(client: Any, runtime: Any) -> None:
    _sign_in(client)
    page = client.get("/account/settings").get_data(as_text=True)
    assert "/account/notifications" in page and "/account/password" in page and "/account/tokens" in page
    assert client.post("/account/settings", data={"locale": "ru", "timezone": "Europe/Moscow",
                                                   "theme": "dark"}).status_code == 302
    with runtime.sessions() as db:
        user = db.scalars(select(User).where(User.email == "ann@acme.test")).one()
        assert (user.locale, user.timezone, user.theme) == ("ru", "Europe/Moscow", "dark")
    client.post("/logout")
    client.post("/login", data={"email": "ann@acme.test", "password": "correct horse battery"},
                headers={"Accept-Language": "en"})
    page = client.get("/account/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="ru"' in page and 'data-theme="dark"' in page and "Europe/Moscow" in page
    assert "Время указано в часовом поясе Europe/Moscow" in page


def test_bad_values_are_refused_and_nothing_changes(client: Any, runtime: Any) -> None:
    _sign_in(client)
    for data, message in (({"timezone": "Mars/Olympus", "theme": "dark"}, "Mars/Olympus"),
                          ({"locale": "xx", "theme": "dark"}, "Unknown language"),
                          ({"theme": "neon"}, "Unknown theme")):
        response = client.post("/account/settings?lang=en", data=data)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    with runtime.sessions() as db:
        user = db.scalars(select(User).where(User.email == "ann@acme.test")).one()
        assert (user.locale, user.timezone, user.theme) == (None, None, None)
