"""Tenancy taken from JSM: a request un-shared there (Organizations emptied) leaves the old organisation.

Through the stand-in JSM over HTTP: an agent edits the request's Organizations field as on a real
site (`PUT /rest/api/2/issue/<key>`), and the webhook it sends (or the next reconcile) is applied.
"""

from __future__ import annotations

import requests
from sqlalchemy import select

from sync.inbound.reconcile import reconcile
from sync.models import Organization, Ticket
from tests.outbound.conftest import Env

ACME, ROMASHKA = "1", "2"


def _share(env: Env, key: str, org_ids: list[str]) -> None:
    response = requests.put(f"{env.sb.url}/rest/api/2/issue/{key}", auth=(env.sb.email, env.sb.token),
                            json={"fields": {"customfield_10002": org_ids}}, timeout=10)
    assert response.status_code == 204, response.text


def _viewer_sees(env: Env, key: str) -> int:
    return env.client.get(f"/api/v1/tickets/{key}", headers=env.headers("viewer")).status_code


def _ivan_request_shared_with_acme(env: Env) -> str:
    reconcile(env.runtime, full=True)  # learns the site's Organizations field id, as the first sync does
    key = env.raise_request(reporter="customer2@example.com")  # Ivan, of Romashka
    _share(env, key, [ACME])
    env.sync_in()
    assert _viewer_sees(env, key) == 200
    return key


def test_organisation_removed_in_jsm_is_404_for_the_old_organisation_at_once(env: Env) -> None:
    key = _ivan_request_shared_with_acme(env)
    _share(env, key, [])  # un-shared in JSM
    env.sync_in()  # the webhook alone, no reconcile
    assert _viewer_sees(env, key) == 404
    # It falls back to the reporter's organisation: Ivan still sees his request.
    assert env.client.get(f"/api/v1/tickets/{key}", headers=env.headers("ivan")).status_code == 200
    assert env.ticket(key).organization.slug == "romashka"


def test_reconcile_repairs_an_unshared_request_whose_webhook_was_lost(env: Env) -> None:
    key = _ivan_request_shared_with_acme(env)
    env.sandbox_post("/_sandbox/faults", {"webhooks": {"drop": 1.0}})
    _share(env, key, [])
    env.sandbox_post("/_sandbox/faults", {})
    assert _viewer_sees(env, key) == 200  # nothing arrived yet
    reconcile(env.runtime, full=False)
    assert _viewer_sees(env, key) == 404


def test_a_full_reconcile_repairs_tenancy_even_when_updated_did_not_move(env: Env) -> None:
    """A ticket left in the old organisation (as earlier versions did) is moved by a full reconcile."""
    key = _ivan_request_shared_with_acme(env)
    _share(env, key, [])
    env.sync_in()
    with env.runtime.sessions() as db, db.begin():  # the state an earlier version left behind
        acme_id = db.scalars(select(Organization.id).where(Organization.slug == "acme")).one()
        db.scalars(select(Ticket).where(Ticket.key == key)).one().organization_id = acme_id
    assert _viewer_sees(env, key) == 200
    reconcile(env.runtime, full=True)
    assert _viewer_sees(env, key) == 404
