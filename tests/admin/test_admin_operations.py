"""Sync health and outbox pages, one user's page (role, groups, reset link, tokens) and "view as"."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.services.accounts import join_group
from sync.jsm.auth_answers import AuthAnswers
from sync.models import ApiToken, AuditEntry, InboundEvent, InboxState, OutboxAction, OutboxState, User
from tests.helpers import make_account

PASSWORD = "correct horse battery"


def _sign_in(client: Any, email: str, password: str = PASSWORD) -> None:
    assert client.post("/login", data={"email": email, "password": password}).status_code == 302


def _user_id(runtime: Any, email: str) -> int:
    with runtime.sessions() as db:
        return db.scalars(select(User.id).where(User.email == email)).one()


def _audited(runtime: Any, action: str) -> list[AuditEntry]:
    with runtime.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


@pytest.fixture
def accounts(runtime: Any) -> dict[str, str]:
    tokens = {"root": make_account(runtime, "root@example.test", "admin", None),
              "alice": make_account(runtime, "alice@acme.test", "customer", "acme"),
              "boss": make_account(runtime, "boss@acme.test", "org_admin", "acme"),
              "gina": make_account(runtime, "gina@globex.test", "customer", "globex")}
    with runtime.sessions() as db, db.begin():
        join_group(db, db.scalars(select(User).where(User.email == "boss@acme.test")).one(), "support")
    return tokens


@pytest.mark.parametrize("path", ["/admin/sync", "/admin/outbox", "/admin/users/{alice}/edit"])
def test_pages_render_in_both_languages_and_refuse_customers(client: Any, runtime: Any, accounts: Any,
                                                             path: str) -> None:
    path = path.format(alice=_user_id(runtime, "alice@acme.test"))
    _sign_in(client, "root@example.test")
    assert "Sync health" in client.get(f"{path}?lang=en").get_data(as_text=True)
    assert "Состояние синхронизации" in client.get(f"{path}?lang=ru").get_data(as_text=True)
    client.post("/logout")
    _sign_in(client, "alice@acme.test")
    assert client.get(path).status_code == 404


def test_sync_page_warns_on_401_until_jsm_answers_again(client: Any, runtime: Any, accounts: Any) -> None:
    answers = AuthAnswers(runtime.redis)
    answers.observe(401, "the search of issues", "search")
    _sign_in(client, "root@example.test")
    page = client.get("/admin/sync?lang=en").get_data(as_text=True)
    assert 'id="jsm-auth"' in page and "401" in page and "the search of issues" in page
    assert client.get("/api/v1/admin/sync").json["jsm_auth_failure"]["status"] == 401
    answers.observe(200, "the search of issues", "search")
    assert 'id="jsm-auth"' not in client.get("/admin/sync").get_data(as_text=True)
    answers.observe(403, "a comment", "comment")
    assert "(403)" in client.get("/admin/sync?lang=en").get_data(as_text=True)


def test_failed_event_is_retried_from_the_page_and_audited(client: Any, runtime: Any, accounts: Any) -> None:
    with runtime.sessions() as db, db.begin():
        event = InboundEvent(delivery_id="d-1", webhook_event="jira:issue_updated", issue_key="SUP-1",
                             payload="{}", state=InboxState.FAILED, reason="payload is not an issue")
        db.add(event)
        db.flush()
        event_id = event.id
    _sign_in(client, "root@example.test")
    assert "payload is not an issue" in client.get("/admin/sync").get_data(as_text=True)
    client.post(f"/admin/sync/events/{event_id}/retry")
    with runtime.sessions() as db:
        assert db.get(InboundEvent, event_id).state == InboxState.PENDING
    assert _audited(runtime, "sync.event.retry")[0].target == "event d-1"
    again = client.post(f"/api/v1/admin/sync/events/{event_id}/retry",
                        headers={"Authorization": f"Bearer {accounts['root']}"})
    assert again.status_code == 409 and "only failed events" in again.json["error"]


def test_failed_action_shows_jsm_answer_and_retry_is_audited(client: Any, runtime: Any, accounts: Any) -> None:
    with runtime.sessions() as db, db.begin():
        action = OutboxAction(uuid=str(uuid.uuid4()), kind="comment", payload={"body": "hi"},
                              state=OutboxState.FAILED, attempts=3, error="JSM refused the comment (403)",
                              jira_response='{"errorMessage": "no permission"}')
        db.add(action)
        db.flush()
        action_id = action.id
    _sign_in(client, "root@example.test")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "no permission" in page and "JSM refused the comment (403)" in page
    client.post(f"/admin/outbox/{action_id}/retry")
    with runtime.sessions() as db:
        assert db.get(OutboxAction, action_id).state == OutboxState.PENDING
    assert _audited(runtime, "outbox.retry")[0].target == f"action {action_id}"
    assert client.post(f"/api/v1/admin/outbox/{action_id}/retry",
                       headers={"Authorization": f"Bearer {accounts['root']}"}).status_code == 409


def test_role_groups_reset_link_and_tokens(client: Any, runtime: Any, accounts: Any) -> None:
    alice = _user_id(runtime, "alice@acme.test")
    _sign_in(client, "boss@acme.test")  # an org admin, for their own organisation
    client.post(f"/admin/users/{alice}/edit", data={"role": "org_viewer", "groups": ["support"]})
    with runtime.sessions() as db:
        user = db.get(User, alice)
        assert str(user.role) == "org_viewer" and [g.name for g in user.groups] == ["support"]
    page = client.get(f"/admin/users/{alice}/edit").get_data(as_text=True)
    assert "test" in page and "never" in page  # the token made by the fixture, never used yet
    link = re.search(r"https?://[^<\s]+/password/reset/[^<\s]+",
                     client.post(f"/admin/users/{alice}/reset").get_data(as_text=True)).group(0)
    assert _audited(runtime, "user.reset_link")
    gina = _user_id(runtime, "gina@globex.test")
    assert client.get(f"/admin/users/{gina}/edit").status_code == 404
    assert client.post(f"/admin/users/{gina}/reset").status_code == 404
    # The token: the API accepts it until the org admin revokes it.
    headers = {"Authorization": f"Bearer {accounts['alice']}"}
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    with runtime.sessions() as db:
        token_id = db.scalars(select(ApiToken.id).where(ApiToken.user_id == alice)).one()
    client.post(f"/admin/users/{alice}/tokens/{token_id}/revoke", data={"confirm": "yes"})
    assert client.get("/api/v1/tickets", headers=headers).status_code == 401
    assert _audited(runtime, "token.revoke")
    # The reset link sets a new password once.
    client.post("/logout")
    path = urlsplit(link).path
    assert client.post(path, data={"new_password": "a brand new secret",
                                   "confirm_password": "a brand new secret"}).status_code == 302
    client.post("/logout")
    _sign_in(client, "alice@acme.test", "a brand new secret")
    assert client.get(path).status_code == 404


def test_view_as_is_read_only_bannered_audited_and_ended_by_a_button(client: Any, runtime: Any,
                                                                     accounts: Any) -> None:
    alice = _user_id(runtime, "alice@acme.test")
    _sign_in(client, "root@example.test")
    assert client.post(f"/admin/users/{alice}/view-as").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'id="view-as-banner"' in page and "alice@acme.test" in page
    assert client.get("/admin/users").status_code == 404  # exactly as Alice: no admin pages
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 403
    refused = client.post("/api/v1/tickets", json={"summary": "x"})
    assert refused.status_code == 403 and "nothing was changed" in refused.json["error"]
    assert "Nothing was changed" in client.post("/account/settings", data={"theme": "dark"}).get_data(as_text=True)
    with runtime.sessions() as db:  # none of the refused writes changed anything
        assert db.scalars(select(ApiToken).where(ApiToken.name == "x")).first() is None
        assert db.scalars(select(OutboxAction)).first() is None
        assert db.get(User, alice).theme is None
    assert [e.details["path"] for e in _audited(runtime, "view_as.refused")] == [
        "/account/tokens", "/api/v1/tickets", "/account/settings"]
    assert _audited(runtime, "view_as.start")
    assert client.post("/view-as/stop").status_code == 302
    assert 'id="view-as-banner"' not in client.get("/").get_data(as_text=True)
    assert client.get("/admin/users").status_code == 200
    assert _audited(runtime, "view_as.stop")
    client.post(f"/admin/users/{alice}/view-as")
    assert client.post("/logout").status_code == 302  # signing out is never refused
    assert 'id="view-as-banner"' not in client.get("/login").get_data(as_text=True)
