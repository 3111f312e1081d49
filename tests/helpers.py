"""Small helpers shared by tests: accounts, webhook posting, draining the inbox in-process."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from typing import Any

from app.services.accounts import create_org, create_user, issue_token
from sync.runtime import Runtime
from tests.conftest import TEST_WEBHOOK_SECRET


def make_account(runtime: Runtime, email: str, role: str = "customer", org: str | None = "acme",
                 jira_account_id: str | None = None, group: str | None = None,
                 password: str = "correct horse battery") -> str:
    """Create (if needed) the organisation and a user; returns a fresh API token."""
    from sqlalchemy import select

    from sync.models import Organization

    with runtime.sessions() as db, db.begin():
        if org and db.scalars(select(Organization).where(Organization.slug == org)).first() is None:
            create_org(db, org, org.title())
        user, _ = create_user(db, email=email, role=role, org_slug=org, group=group, password=password,
                              jira_account_id=jira_account_id)
        return issue_token(db, user, "test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(client: Any, payload: Any, *, secret: str | None = TEST_WEBHOOK_SECRET,
                 delivery_id: str | None = None, raw: bytes | None = None,
                 headers: dict[str, str] | None = None) -> Any:
    """POST a webhook body as Jira would: signed with the test install's secret, or `secret`, or unsigned (None)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    all_headers = {"Content-Type": "application/json"}
    if secret:
        all_headers["X-Hub-Signature"] = sign(body, secret)
    if delivery_id:
        all_headers["X-Atlassian-Webhook-Identifier"] = delivery_id
    all_headers.update(headers or {})
    return client.post("/webhooks/jira", data=body, headers=all_headers)


def drain(runtime: Runtime) -> dict[str, int]:
    """Apply the inbox in this process, as an `inbound` job would."""
    from sync.jobs import drain_inbox

    return drain_inbox(runtime)


PRIORITY_IDS = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}


def issue_payload(key: str = "SUP-1", *, jira_id: str = "10001", status: str = "Waiting for Support",
                  status_id: str = "10010", category: str = "new", priority: str = "High",
                  updated: str = "2026-01-01T10:00:00.000+0000", summary: str = "Printer is on fire",
                  reporter: str = "acc-1", reporter_email: str = "alice@acme.test",
                  event: str = "jira:issue_updated", changelog_id: str | None = None) -> dict[str, Any]:
    """A Cloud-shaped issue webhook with the fields the mirror reads."""
    body: dict[str, Any] = {
        "timestamp": 1767261600000,
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "agent-1", "displayName": "Agent"},
        "issue": {"id": jira_id, "key": key, "fields": {
            "summary": summary, "project": {"key": key.split("-")[0]},
            "status": {"id": status_id, "name": status, "statusCategory": {"key": category}},
            "priority": {"id": PRIORITY_IDS.get(priority, "10000"),
                         "name": priority}, "issuetype": {"name": "Incident"},
            "created": "2026-01-01T09:00:00.000+0000", "updated": updated,
            "reporter": {"accountId": reporter, "displayName": "Alice", "emailAddress": reporter_email},
        }},
    }
    if changelog_id:
        body["changelog"] = {"id": changelog_id, "items": []}
    return body


class InBackground:
    """Calls `step()` every `interval` seconds in a thread while the with-block runs: a worker's loop for tests
    that drive the UI in the main thread (RQ's own worker installs signal handlers, which only the main thread
    may do, so the job functions are called directly)."""

    def __init__(self, step: Callable[[], object], interval: float) -> None:
        self.step, self.interval, self.stop = step, interval, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.step()
            self.stop.wait(self.interval)

    def __enter__(self) -> InBackground:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
