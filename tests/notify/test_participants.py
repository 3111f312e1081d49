"""A request's participants, as JSM has them, are told by the one scope rule: in scope, mailed; outside, not.

Participants come from the site's "Request participants" field (its id learned by a reconcile, as the
Organizations field's is), on webhooks and reconcile alike; removing one in JSM stops their mail.
"""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import update

from app.services.accounts import create_user
from sync.inbound.reconcile import reconcile
from sync.models import User
from tests.notify.conftest import mail_env, notify


def set_participants(env: Any, key: str, emails: list[str], method: str = "POST") -> None:
    """Add (POST) or remove (DELETE) participants through JSM's own servicedeskapi, as an agent would."""
    ids = [env.sb.state.by_email[email].account_id for email in emails]
    response = requests.request(method, f"{env.sb.url}/rest/servicedeskapi/request/{key}/participant",
                                json={"accountIds": ids}, auth=(env.sb.email, env.sb.token), timeout=10)
    assert response.status_code == 200, response.text
    env.sync_in()


def with_participants(make_env: Any, database_url: str, controller: Any) -> Any:
    """The mail install, its field ids learned from JSM, maria an org viewer of Acme, carl an Acme customer."""
    env = mail_env(make_env, database_url, controller)
    reconcile(env.runtime, full=False, project="SUP")
    with env.runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == "customer4@example.com").values(role="org_viewer"))
        carl = env.sb.state.by_email["customer7@example.com"]
        create_user(db, email=carl.email, role="customer", org_slug="acme", password="correct horse battery",
                    name=carl.display_name, jira_account_id=carl.account_id)
    return env


def _readers(inbox: Any) -> list[str]:
    return sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in inbox.messages)


def test_participants_in_scope_are_told_those_outside_are_not(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = with_participants(make_env, database_url, controller)
    key = env.raise_request()
    # maria: Acme's org viewer (sees every Acme request); carl: an Acme customer (sees only his own);
    # ivan: Romashka's (another organisation). All three are participants in JSM.
    set_participants(env, key, ["customer4@example.com", "customer7@example.com", "customer2@example.com"])
    assert len(env.ticket(key).participant_account_ids) == 3
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "We replaced the toner", "public": True})
    env.sync_in()
    notify(env)
    assert _readers(inbox) == ["customer1@example.com", "customer4@example.com"]
    assert all("We replaced the toner" in m.get_body(("plain",)).get_content() for m in inbox.messages)

    set_participants(env, key, ["customer4@example.com"], method="DELETE")  # maria leaves the request in JSM
    assert len(env.ticket(key).participant_account_ids) == 2
    inbox.messages.clear()
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "Done", "public": True})
    env.sync_in()
    notify(env)
    assert _readers(inbox) == ["customer1@example.com"]


def test_a_participant_is_not_told_of_their_own_change(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = with_participants(make_env, database_url, controller)
    key = env.raise_request()
    set_participants(env, key, ["customer4@example.com"])
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "In Progress"})
    env.sync_in()
    notify(env)
    assert _readers(inbox) == ["customer1@example.com", "customer4@example.com"]
    inbox.messages.clear()
    # maria herself moves it on in JSM: the reporter is told, maria is not.
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "Waiting for Customer",
                                                              "as": "customer4@example.com"})
    env.sync_in()
    notify(env)
    assert _readers(inbox) == ["customer1@example.com"]


def test_a_portal_action_is_not_mailed_to_its_author(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = with_participants(make_env, database_url, controller)
    key = env.raise_request()
    set_participants(env, key, ["customer4@example.com"])
    # alice resolves her request in the portal; the outbox pushes it to JSM, whose webhook comes back.
    answer = env.client.post(f"/api/v1/tickets/{key}/resolve", json={}, headers=env.headers("alice"))
    assert answer.status_code == 202, answer.get_json()
    env.push_all()
    assert env.ticket(key).bucket == "resolved"
    notify(env)
    assert _readers(inbox) == ["customer4@example.com"]  # maria is told; alice did it herself
