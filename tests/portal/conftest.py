"""Portal fixtures: two organisations with tickets, comments (public and internal) and history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sync.models import Comment, Organization, StatusHistory, Ticket, User
from tests.helpers import make_account

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "INTERNAL-ONLY-NOTE-7f3a"
XSS = ('<script>alert(1)</script> [click|javascript:alert(2)] <img src=x onerror="alert(3)"> '
       '<a href="javascript:alert(4)" onclick="alert(5)">x</a>')


def _ticket(org_id: int, n: int, key: str, **fields: Any) -> Ticket:
    values: dict[str, Any] = {
        "jira_id": str(10_000 + n), "key": key, "project_key": key.split("-")[0], "summary": f"Request {key}",
        "organization_id": org_id, "reporter_name": "Alice", "reporter_email": "alice@acme.test",
        "customer_status": "in_progress", "customer_priority": "medium", "bucket": "open",
        "jira_status_name": "In Progress", "request_type_name": "Incident", "assignee_name": "Bob Agent",
        "created_at": NOW - timedelta(days=n + 1), "jira_updated_at": NOW - timedelta(hours=n),
        "last_synced_at": NOW - timedelta(seconds=30),
    }
    values.update(fields)
    return Ticket(**values)


def alice_with_a_request(runtime: Any) -> tuple[int, str, int]:
    """alice@acme.test and one request of Acme (SUP-1): (her user id, her e-mail, the request's ticket id)."""
    make_account(runtime, "alice@acme.test")
    with runtime.sessions() as db, db.begin():
        org = db.scalars(select(Organization)).one()
        user = db.scalars(select(User)).one()
        ticket = _ticket(org.id, 1, "SUP-1")
        db.add(ticket)
        db.flush()
        return user.id, user.email, ticket.id


def seed(runtime: Any) -> dict[str, Any]:
    """acme (alice, viewer) and globex (gina) with a few tickets each; returns their API tokens."""
    tokens = {
        "alice": make_account(runtime, "alice@acme.test", "customer", "acme"),
        "viewer": make_account(runtime, "viewer@acme.test", "org_viewer", "acme"),
        "lead": make_account(runtime, "lead@acme.test", "group_lead", "acme", group="ops"),
        "gina": make_account(runtime, "gina@globex.test", "org_viewer", "globex"),
        "admin": make_account(runtime, "admin@example.test", "admin", None),
    }
    with runtime.sessions() as db, db.begin():
        orgs = {o.slug: o.id for o in db.query(Organization)}
        acme = [
            _ticket(orgs["acme"], 1, "SUP-1", customer_status="awaiting_customer", customer_priority="high",
                    summary="Printer is on fire", first_response_at=NOW - timedelta(days=1, hours=23)),
            _ticket(orgs["acme"], 2, "SUP-2", customer_status="resolved", bucket="resolved",
                    resolved_at=NOW - timedelta(days=1), summary="VPN drops every hour",
                    request_type_name="Consultation"),
            _ticket(orgs["acme"], 3, "SUP-3", customer_status="closed", bucket="closed",
                    resolved_at=NOW - timedelta(days=2), reporter_email="viewer@acme.test", reporter_name="Vic",
                    customer_priority="low"),
        ]
        globex = [_ticket(orgs["globex"], 4, "GLX-1", summary="Globex secret project",
                          reporter_email="gina@globex.test")]
        db.add_all(acme + globex)
        db.flush()
        first = acme[0]
        db.add_all([
            Comment(ticket_id=first.id, jira_id="c1", author_name="Bob Agent", public=True, body="Please send *logs*.",
                    created_at=NOW - timedelta(days=1), updated_at=NOW - timedelta(days=1)),
            Comment(ticket_id=first.id, jira_id="c2", author_name="Bob Agent", public=False, body=SECRET,
                    created_at=NOW - timedelta(hours=20), updated_at=NOW - timedelta(hours=20)),
            Comment(ticket_id=first.id, jira_id="c3", author_name="Mallory", public=True, from_support=False,
                    body=XSS, created_at=NOW - timedelta(hours=10), updated_at=NOW - timedelta(hours=10)),
            Comment(ticket_id=globex[0].id, jira_id="c4", author_name="G", public=True, body="globex comment",
                    created_at=NOW - timedelta(hours=5), updated_at=NOW - timedelta(hours=5)),
            StatusHistory(ticket_id=first.id, customer_status="open", at=NOW - timedelta(days=2), changelog_id="h1"),
            StatusHistory(ticket_id=first.id, customer_status="awaiting_customer", at=NOW - timedelta(days=1),
                          changelog_id="h2"),
            StatusHistory(ticket_id=acme[1].id, customer_status="resolved", at=NOW - timedelta(days=1),
                          changelog_id="h3"),
            StatusHistory(ticket_id=globex[0].id, customer_status="in_progress", at=NOW - timedelta(hours=3),
                          changelog_id="h4"),
        ])
    return tokens


@pytest.fixture
def seeded(runtime: Any) -> dict[str, Any]:
    """The two organisations above in a fresh database."""
    return seed(runtime)


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the form (CSRF is off in the test app unless a test turns it on)."""
    return client.post("/login", data={"email": email, "password": password})
