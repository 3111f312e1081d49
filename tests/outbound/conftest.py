"""Fixtures of the outbox tests: the stand-in JSM over HTTP, our app served over HTTP for its webhooks,
customers linked to the stand-in's accounts and organisations, and in-process push/drain helpers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, update

from sandbox.testing import RunningSandbox, running_sandbox
from sync.models import OutboxAction, Ticket
from tests.browser import serving
from tests.conftest import make_settings
from tests.helpers import drain


@dataclass
class Env:
    """One test install wired to one stand-in JSM."""

    sb: RunningSandbox
    app: Any
    client: Any
    runtime: Any
    settings: Any
    tokens: dict[str, str]
    base_url: str = ""

    def headers(self, who: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def sandbox_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(self.sb.url + path, json=body, timeout=10)
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def sandbox_state(self) -> dict[str, Any]:
        return requests.get(self.sb.url + "/_sandbox/state", timeout=10).json()

    def sync_in(self) -> dict[str, int]:
        """Deliver the stand-in's pending webhooks and apply the inbox, as an inbound worker would."""
        assert self.sb.wait_for_webhooks(15)
        return drain(self.runtime)

    def raise_request(self, reporter: str = "customer1@example.com", **body: Any) -> str:
        """A request raised in JSM by a customer (not through us), mirrored here by its webhook."""
        key = self.sandbox_post("/_sandbox/requests", {"reporter": reporter, "request_type": "11", **body})["key"]
        self.sync_in()
        return key

    def push_all(self, rounds: int = 40) -> None:
        """Push every due outbox action in this process until none is left (time is made to pass)."""
        from sync.outbound.outbox import due_actions
        from sync.outbound.push import push

        for _ in range(rounds):
            with self.runtime.sessions() as db, db.begin():
                # Backoff waits would only slow the test: let the clock "pass" them.
                db.execute(update(OutboxAction).where(OutboxAction.state == "pending")
                           .values(next_attempt_at=None))
                ids = due_actions(db, lease_seconds=3600)
            if not ids:
                break
            for action_id in ids:
                push(self.runtime, action_id, sleep=lambda s: None)
        self.sync_in()

    def ticket(self, key: str) -> Ticket:
        with self.runtime.sessions() as db:
            return db.scalars(select(Ticket).where(Ticket.key == key)).one()


def _link_users(runtime: Any, sb: RunningSandbox) -> dict[str, str]:
    from app.services.accounts import create_org, create_user, issue_token

    people = {"alice": ("customer1@example.com", "customer", "acme", "1"),
              "maria": ("customer4@example.com", "customer", "acme", "1"),
              "ivan": ("customer2@example.com", "customer", "romashka", "2"),
              "viewer": ("viewer@acme.test", "org_viewer", "acme", "1"),
              "admin": ("admin@companion.test", "admin", None, None)}
    tokens = {}
    with runtime.sessions() as db, db.begin():
        create_org(db, "acme", "Acme Corp", "1")
        create_org(db, "romashka", "Romashka", "2")
        for who, (email, role, org, _) in people.items():
            account = sb.state.by_email.get(email)
            user, _ = create_user(db, email=email, role=role, org_slug=org, password="correct horse battery",
                                  name=account.display_name if account else who.title(),
                                  jira_account_id=account.account_id if account else None)
            tokens[who] = issue_token(db, user, "test")
    return tokens


@pytest.fixture
def make_env(tmp_path: Path, redis_url: str, redis_client) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A factory: `make_env(database_url, deployment="cloud")` → Env (everything stopped afterwards)."""
    from app import create_app

    with contextlib.ExitStack() as stack:

        def build(database_url: str, deployment: str = "cloud") -> Env:
            sb = stack.enter_context(running_sandbox(seed="empty", deployment=deployment))
            settings = make_settings(tmp_path, database_url, redis_url,
                                     jira={"base_url": sb.url, "deployment": deployment, "email": sb.email,
                                           "api_token": sb.token, "allow_unsigned_webhooks": True})
            app = create_app(settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
            runtime = app.extensions["companion"]
            stack.callback(runtime.close)  # pooled database connections must not outlive the test
            base = stack.enter_context(serving(app))
            sb.set_webhook(f"{base}/webhooks/jira")
            return Env(sb, app, app.test_client(), runtime, settings, _link_users(runtime, sb), base)

        yield build


@pytest.fixture
def env(make_env, database_url: str) -> Env:  # type: ignore[no-untyped-def]
    """An install on SQLite with the Cloud stand-in."""
    return make_env(database_url)
