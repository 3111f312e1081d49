"""A request's participants, as JSM has them, see it as their own and are told of it, whatever their organisation.

Participants come from the site's "Request participants" field (its id learned by a reconcile, as the
Organizations field's is), on webhooks and reconcile alike; removing one in JSM ends it at once (404, no mail).
"""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import select, update

from app.services.accounts import create_user, issue_token
from sync.inbound.reconcile import reconcile
from sync.models import Ticket, TicketParticipant, User
from tests.notify.conftest import mail_env, notify

PASSWORD = "correct horse battery"


def set_participants(env: Any, key: str, emails: list[str], method: str = "POST") -> None:
    """Add (POST) or remove (DELETE) participants through JSM's own servicedeskapi, as an agent would."""
    ids = [env.sb.state.by_email[email].account_id for email in emails]
    response = requests.request(method, f"{env.sb.url}/rest/servicedeskapi/request/{key}/participant",
                                json={"accountIds": ids}, auth=(env.sb.email, env.sb.token), timeout=10)
    assert response.status_code == 200, response.text
    env.sync_in()


def with_participants(make_env: Any, database_url: str, controller: Any) -> Any:
    """The mail install, its field ids learned from JSM, maria an org viewer of Acme, carl an Acme customer,
    olga a Romashka customer who is never a participant."""
    env = mail_env(make_env, database_url, controller)
    reconcile(env.runtime, full=False, project="SUP")
    with env.runtime.sessions() as db, db.begin():
        db.execute(update(User).where(User.email == "customer4@example.com").values(role="org_viewer"))
        for email, org in (("customer7@example.com", "acme"), ("customer8@example.com", "romashka")):
            account = env.sb.state.by_email[email]
            user, _ = create_user(db, email=email, role="customer", org_slug=org, password=PASSWORD,
                                  name=account.display_name, jira_account_id=account.account_id)
            env.tokens[email] = issue_token(db, user, "test")
    env.tokens["customer2@example.com"] = env.tokens["ivan"]
    return env


def shared_request(make_env: Any, database_url: str, controller: Any, participant: str) -> tuple[Any, str]:
    """The install of `with_participants` and alice's new request with `participant` added in JSM."""
    env = with_participants(make_env, database_url, controller)
    key = env.raise_request()
    set_participants(env, key, [participant])
    return env, key


def _readers(inbox: Any) -> list[str]:
    return sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in inbox.messages)


def _participants(env: Any, key: str) -> set[str]:
    with env.runtime.sessions() as db:
        return set(db.scalars(select(TicketParticipant.account_id).join(Ticket).where(Ticket.key == key)))


def _sees(env: Any, email: str, key: str) -> dict[str, bool]:
    """Whether `email` finds the request in each place the portal and the API show requests."""
    bearer = {"Authorization": f"Bearer {env.tokens[email]}"}
    client = env.app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    api_list = env.client.get("/api/v1/tickets?scope=mine", headers=bearer)
    assert api_list.status_code == 200
    return {"list": key in client.get("/").get_data(as_text=True),
            "page": client.get(f"/tickets/{key}").status_code == 200,
            "csv": key in client.get("/export.csv").get_data(as_text=True),
            "api": env.client.get(f"/api/v1/tickets/{key}", headers=bearer).status_code == 200,
            "api list": key in [t["key"] for t in api_list.get_json()["items"]]}


def _nowhere(env: Any, email: str, key: str) -> bool:
    return not any(_sees(env, email, key).values())


def test_participants_of_any_organisation_see_the_request_and_are_told(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env = with_participants(make_env, database_url, controller)
    key = env.raise_request()
    assert _nowhere(env, "customer7@example.com", key)  # an Acme customer sees only their own
    # maria: Acme's org viewer; carl: an Acme customer; ivan: Romashka's (another organisation). JSM shows
    # each of them the request, so the portal does too; olga (Romashka, no participant) still gets 404.
    set_participants(env, key, ["customer4@example.com", "customer7@example.com", "customer2@example.com"])
    assert len(_participants(env, key)) == 3
    for email in ("customer7@example.com", "customer2@example.com"):
        assert all(_sees(env, email, key).values()), email
    assert _nowhere(env, "customer8@example.com", key)
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "We replaced the toner", "public": True})
    env.sync_in()
    notify(env)
    assert _readers(inbox) == ["customer1@example.com", "customer2@example.com", "customer4@example.com",
                               "customer7@example.com"]
    assert all("We replaced the toner" in m.get_body(("plain",)).get_content() for m in inbox.messages)

    # JSM removes carl and ivan: at once they get 404 everywhere and no more mail.
    set_participants(env, key, ["customer7@example.com", "customer2@example.com"], method="DELETE")
    assert len(_participants(env, key)) == 1
    assert _nowhere(env, "customer7@example.com", key) and _nowhere(env, "customer2@example.com", key)
    inbox.messages.clear()
    env.sandbox_post(f"/_sandbox/requests/{key}/comment", {"body": "Done", "public": True})
    env.sync_in()
    notify(env)
    assert _readers(inbox) == ["customer1@example.com", "customer4@example.com"]


def test_a_participant_of_another_organisation_may_act_as_on_their_own(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    _, controller = smtp
    env = with_participants(make_env, database_url, controller)
    key = env.raise_request()
    comment = {"body": "Still broken on our side"}
    assert env.client.post(f"/api/v1/tickets/{key}/comments", json=comment,
                           headers=env.headers("ivan")).status_code == 404
    set_participants(env, key, ["customer2@example.com"])
    answer = env.client.post(f"/api/v1/tickets/{key}/comments", json=comment, headers=env.headers("ivan"))
    assert answer.status_code == 202, answer.get_json()


def test_reconcile_removes_a_participant_jsm_no_longer_lists(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    _, controller = smtp
    env, key = shared_request(make_env, database_url, controller, "customer2@example.com")
    assert all(_sees(env, "customer2@example.com", key).values())
    # The removal's webhook is lost; the next reconcile applies JSM's list all the same.
    env.sandbox_post("/_sandbox/faults", {"webhooks": {"drop": 1.0}})
    set_participants(env, key, ["customer2@example.com"], method="DELETE")
    assert _participants(env, key) != set()
    env.sandbox_post("/_sandbox/faults", {})
    reconcile(env.runtime, full=True, project="SUP")
    assert _participants(env, key) == set()
    assert _nowhere(env, "customer2@example.com", key)


def test_a_participant_is_not_told_of_their_own_change(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    inbox, controller = smtp
    env, key = shared_request(make_env, database_url, controller, "customer4@example.com")
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
    env, key = shared_request(make_env, database_url, controller, "customer4@example.com")
    # alice resolves her request in the portal; the outbox pushes it to JSM, whose webhook comes back.
    answer = env.client.post(f"/api/v1/tickets/{key}/resolve", json={}, headers=env.headers("alice"))
    assert answer.status_code == 202, answer.get_json()
    env.push_all()
    assert env.ticket(key).bucket == "resolved"
    notify(env)
    assert _readers(inbox) == ["customer4@example.com"]  # maria is told; alice did it herself


def test_a_participant_reads_that_the_request_waits_for_its_requester(make_env, database_url, smtp) -> None:  # type: ignore[no-untyped-def]
    _, controller = smtp
    env, key = shared_request(make_env, database_url, controller, "customer2@example.com")
    env.sandbox_post(f"/_sandbox/requests/{key}/transition", {"status": "Waiting for Customer"})
    env.sync_in()
    readers = {}
    for email in ("customer1@example.com", "customer2@example.com"):
        client = env.app.test_client()
        client.post("/login", data={"email": email, "password": PASSWORD})
        readers[email] = (client.get(f"/tickets/{key}").get_data(as_text=True), client.get("/").get_data(as_text=True))
    alice_page, alice_list = readers["customer1@example.com"]
    ivan_page, ivan_list = readers["customer2@example.com"]
    assert "Waiting for your reply" in alice_page and "1 request waits for your reply" in alice_list
    assert "Waiting for the requester" in ivan_page and "Waiting for your reply" not in ivan_page
    assert "waits for your reply" not in ivan_list and key in ivan_list
