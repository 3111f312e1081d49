"""Server-side sessions: sign-out voids every copy of the cookie, idle and absolute timeouts, the account's
list of sessions with sign-outs, password changes and resets, and API tokens with expiry and last use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.services.invitations import make_link_token
from sync.models import ApiToken, User, WebSession, utcnow
from tests.helpers import bearer, make_account

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"


def _sign_in(app: Any, email: str, agent: str = "pytest-browser") -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD},
                           headers={"User-Agent": agent})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    return client


def _signed_in(client: Any) -> bool:
    return client.get("/").status_code == 200


def test_a_cookie_captured_before_logout_does_not_work_after_it(app, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    client = _sign_in(app, "alice@acme.test")
    captured = client.get_cookie("companion_session").value
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("companion_session", captured)
    assert replay.get("/").status_code == 302
    assert replay.get("/api/v1/tickets").status_code == 401
    with runtime.sessions() as db:
        assert db.scalars(select(WebSession)).all() == []


def test_idle_and_absolute_timeouts_end_a_session(app, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    security = runtime.settings.security
    client = _sign_in(app, "alice@acme.test")
    with runtime.sessions() as db, db.begin():
        db.execute(update(WebSession).values(
            last_seen_at=utcnow() - timedelta(minutes=security.session_idle_minutes, seconds=5)))
    assert not _signed_in(client)
    client = _sign_in(app, "alice@acme.test")
    with runtime.sessions() as db, db.begin():  # used a minute ago, but signed in too long ago
        db.execute(update(WebSession).values(
            created_at=utcnow() - timedelta(hours=security.session_absolute_hours, seconds=5),
            last_seen_at=utcnow() - timedelta(minutes=1)))
    assert not _signed_in(client)
    with runtime.sessions() as db:
        assert db.scalars(select(WebSession)).all() == []  # expired rows go at once


def test_live_polls_are_not_activity_but_pages_are(app, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    client = _sign_in(app, "alice@acme.test")
    earlier = utcnow() - timedelta(minutes=10)
    with runtime.sessions() as db, db.begin():
        db.execute(update(WebSession).values(last_seen_at=earlier))

    def last_seen() -> Any:
        with runtime.sessions() as db:
            return db.scalars(select(WebSession.last_seen_at)).one()

    assert client.get("/live/list").status_code == 200
    assert abs((last_seen() - earlier).total_seconds()) < 1
    assert client.get("/").status_code == 200
    assert (last_seen() - earlier).total_seconds() > 500


def test_the_account_lists_its_sessions_and_signs_them_out(app, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    make_account(runtime, "bob@acme.test")
    laptop = _sign_in(app, "alice@acme.test", "Laptop/1.0 (Firefox)")
    phone = _sign_in(app, "alice@acme.test", "Phone/2.0 (Safari)")
    tablet = _sign_in(app, "alice@acme.test", "Tablet/3.0")
    bob = _sign_in(app, "bob@acme.test")
    page = laptop.get("/account/sessions").get_data(as_text=True)
    assert "Laptop/1.0 (Firefox)" in page and "Phone/2.0 (Safari)" in page and "127.0.0.1" in page
    assert page.count("This session") == 1
    with runtime.sessions() as db:
        phone_row = db.scalars(select(WebSession).where(WebSession.user_agent.like("Phone%"))).one()
        bob_row = db.scalars(select(WebSession).join(User).where(User.email == "bob@acme.test")).one()
    assert laptop.post(f"/account/sessions/{bob_row.id}/end").status_code == 404  # not hers
    assert laptop.post(f"/account/sessions/{phone_row.id}/end").status_code == 302
    assert not _signed_in(phone) and _signed_in(tablet) and _signed_in(bob)
    laptop.post("/account/sessions/others/end")
    assert not _signed_in(tablet) and _signed_in(laptop) and _signed_in(bob)


def test_a_password_change_ends_other_sessions_and_tokens_only_when_chosen(app, runtime) -> None:  # type: ignore[no-untyped-def]
    token = make_account(runtime, "alice@acme.test")
    here, elsewhere = _sign_in(app, "alice@acme.test"), _sign_in(app, "alice@acme.test")
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert here.post("/account/password", data=form).status_code == 302
    assert _signed_in(here) and not _signed_in(elsewhere)
    assert here.get("/api/v1/tickets", headers=bearer(token)).status_code == 200  # box not ticked: kept
    back = {"current_password": NEW_PASSWORD, "new_password": PASSWORD, "confirm_password": PASSWORD,
            "revoke_tokens": "1"}
    assert here.post("/account/password", data=back).status_code == 302
    assert here.get("/api/v1/tickets", headers=bearer(token)).status_code == 401
    assert _signed_in(here)


def test_a_reset_link_ends_every_session_and_offers_to_revoke_tokens(app, runtime) -> None:  # type: ignore[no-untyped-def]
    token = make_account(runtime, "alice@acme.test")
    elsewhere = _sign_in(app, "alice@acme.test")
    with runtime.sessions() as db:
        link = make_link_token(app.config["SECRET_KEY"], db.scalars(select(User)).one(), "reset")
    visitor = app.test_client()
    form = visitor.get(f"/password/reset/{link}").get_data(as_text=True)
    assert 'name="revoke_tokens"' in form and "checked" in form
    visitor.post(f"/password/reset/{link}", data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert _signed_in(visitor) and not _signed_in(elsewhere)
    assert visitor.get("/api/v1/tickets", headers=bearer(token)).status_code == 200  # not ticked this time


def test_api_tokens_expire_and_record_their_last_use(app, runtime) -> None:  # type: ignore[no-untyped-def]
    make_account(runtime, "alice@acme.test")
    client = _sign_in(app, "alice@acme.test")
    assert client.post("/account/tokens", data={"name": "bad", "expires_days": "9999"}).status_code == 302
    page = client.post("/account/tokens", data={"name": "ci", "expires_days": "7"}).get_data(as_text=True)
    token = page.split('id="token-value" class="mono" readonly value="')[1].split('"')[0]
    with runtime.sessions() as db:
        row = db.scalars(select(ApiToken).where(ApiToken.name == "ci")).one()
        assert db.scalars(select(ApiToken).where(ApiToken.name == "bad")).first() is None
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)
    assert row.last_used_at is None
    assert client.get("/api/v1/tickets", headers=bearer(token)).status_code == 200
    with runtime.sessions() as db, db.begin():
        assert db.get(ApiToken, row.id).last_used_at is not None
        db.execute(update(ApiToken).where(ApiToken.id == row.id).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/v1/tickets", headers=bearer(token)).status_code == 401
    assert "Expired" in client.get("/account/tokens").get_data(as_text=True)
