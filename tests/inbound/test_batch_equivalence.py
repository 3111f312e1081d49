"""The set-based batch path against the one-by-one ORM path, for any reordering or redelivery of a story.

Issue updates (status and summary, with changelogs), issue deletion, and comment create/update/delete
with visibility, drained as one inbox batch on SQLite and PostgreSQL:
- tickets and comments end as the story applied once, in time order, event by event (order safety);
- the whole store, status history and notification facts included, equals the one-by-one path given
  the same arrival order (history's first entry and the facts depend on what arrived when, by design).
Deleted tickets and comments are compared by that flag only: what a deleted row still holds is never
shown, and which event created it depends on arrival order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.inbound.rows import COMMENT_COLUMNS, TICKET_COLUMNS
from sync.inbound.upsert import Deferred, apply_comment_event, apply_issue_event
from sync.jsm.events import CommentEvent, IssueEvent, normalise
from sync.models import Comment, InboundEvent, NotificationEvent, StatusHistory, Ticket, utcnow
from tests.conftest import _empty_tables, make_settings
from tests.helpers import drain
from tests.inbound.test_apply import status_change

STATUSES = ["Waiting for Support", "In Progress", "Waiting for Customer", "Resolved"]
T0 = utcnow().replace(microsecond=0) - timedelta(hours=2)  # recent: changes are news, so facts are recorded

# One step of the story: ("issue", ticket, status, summary) | ("delete", ticket)
# | ("comment", ticket, comment, "created"/"updated"/"deleted", public).
steps = st.lists(st.one_of(
    st.tuples(st.just("issue"), st.integers(0, 1), st.sampled_from(STATUSES), st.sampled_from(["a", "b"])),
    st.tuples(st.just("comment"), st.integers(0, 1), st.integers(0, 2),
              st.sampled_from(["created", "updated", "deleted"]), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 1)),
), min_size=1, max_size=12)


def _time(i: int) -> str:
    return (T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def story(plan: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Webhook bodies in time order; each ticket is first seen in an issue event (as JSM sends them)."""
    status = {0: "Waiting for Support", 1: "Waiting for Support"}
    bodies = []
    for t in (0, 1):
        body = status_change(f"{t}", "Waiting for Support", "Waiting for Support", _time(0), key=f"SUP-{t + 1}",
                             jira_id=f"{10000 + t}")
        bodies.append(body)
    for i, step in enumerate(plan, start=1):
        ticket, when = step[1], _time(i)
        issue = {"id": f"{10000 + ticket}", "key": f"SUP-{ticket + 1}"}
        if step[0] == "issue":
            body = status_change(f"{100 + i}", status[ticket], step[2], when, key=f"SUP-{ticket + 1}",
                                 jira_id=issue["id"], summary=f"summary {step[3]}")
            status[ticket] = step[2]
        elif step[0] == "delete":
            body = status_change(f"{100 + i}", status[ticket], status[ticket], when, key=f"SUP-{ticket + 1}",
                                 jira_id=issue["id"], event="jira:issue_deleted")
        else:
            comment = {"id": f"c{ticket}-{step[2]}", "body": f"text {i}", "created": _time(0), "updated": when,
                       "author": {"accountId": "agent-9", "displayName": "Agent"}, "jsdPublic": step[4]}
            body = {"timestamp": i, "webhookEvent": f"comment_{step[3]}", "issue": issue, "comment": comment}
        bodies.append(body)
    return bodies


def one_by_one(runtime: Any, bodies: list[dict[str, Any]]) -> None:
    """The reference: each event alone, in this order, through the ORM path (no batch); a comment that
    came before its ticket is tried once more at the end, as a drain does."""
    deferred = []
    for body in bodies:
        event = normalise(body)
        with runtime.sessions() as db, db.begin():
            if isinstance(event, IssueEvent):
                apply_issue_event(db, event, runtime.mapping)
            elif isinstance(event, CommentEvent):
                try:
                    with db.begin_nested():
                        apply_comment_event(db, event)
                except Deferred:
                    deferred.append(body)
    if deferred and len(deferred) < len(bodies):
        one_by_one(runtime, deferred)


def as_one_batch(runtime: Any, bodies: list[dict[str, Any]]) -> None:
    with runtime.sessions() as db, db.begin():
        db.add_all([InboundEvent(delivery_id=f"d{n}", webhook_event=b["webhookEvent"], payload=json.dumps(b),
                                 state="pending", attempts=0) for n, b in enumerate(bodies)])
    counts = drain(runtime)
    assert set(counts) == {"applied"}, counts


def final(db: Session) -> dict[str, Any]:
    """Tickets and comments: what order safety makes independent of arrival order."""
    tickets = {t.id: t for t in db.scalars(select(Ticket))}
    return {
        "tickets": {t.jira_id: ("deleted",) if t.deleted else
                    (t.key, t.summary, t.customer_status, t.jira_status_name, t.jira_updated_at)
                    for t in tickets.values()},
        "comments": {c.jira_id: ("deleted",) if c.deleted else
                     (tickets[c.ticket_id].jira_id, c.body, c.public, c.from_support, c.created_at, c.updated_at)
                     for c in db.scalars(select(Comment))},
    }


def store(db: Session) -> dict[str, Any]:
    """Everything the apply writes: `final`, first responses, status history and notification facts."""
    tickets = {t.id: t for t in db.scalars(select(Ticket))}
    history: dict[str, list[tuple[str, datetime, str | None]]] = {}
    for h in db.scalars(select(StatusHistory).order_by(StatusHistory.at, StatusHistory.customer_status)):
        if not tickets[h.ticket_id].deleted:
            history.setdefault(tickets[h.ticket_id].jira_id, []).append((h.customer_status, h.at, h.changelog_id))
    facts = sorted((f.kind, tickets[f.ticket_id].jira_id, f.actor_account_id, json.dumps(f.details, sort_keys=True))
                   for f in db.scalars(select(NotificationEvent)))
    return {**final(db), "first_response": {t.jira_id: t.first_response_at for t in tickets.values()
                                            if not t.deleted},
            "history": history, "facts": facts}


@pytest.fixture
def runtime(tmp_path: Path, any_database_url: str, redis_url: str, redis_client) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(make_settings(tmp_path, any_database_url, redis_url), {"TESTING": True})
    yield app.extensions["companion"]
    app.extensions["companion"].close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps, data=st.data())
def test_any_reordering_or_redelivery_in_one_batch_ends_as_the_story_applied_in_order(
        runtime: Any, any_database_url: str, plan: list[tuple[Any, ...]], data: st.DataObject) -> None:
    bodies = story(plan)
    delivered = data.draw(st.permutations(bodies + data.draw(st.lists(st.sampled_from(bodies), max_size=4))))
    expected = {}
    for name, apply, events in (("in time order", one_by_one, bodies), ("as delivered", one_by_one, delivered),
                                ("batch", as_one_batch, delivered)):
        _empty_tables(any_database_url)
        apply(runtime, events)
        with runtime.sessions() as db:
            expected[name] = (final(db), store(db))
    assert expected["batch"][0] == expected["in time order"][0]
    assert expected["batch"][1] == expected["as delivered"][1]


def test_batch_rows_write_every_column_of_their_tables() -> None:
    # A column added to the models and not to the rows would be written as its default by every batch.
    assert set(TICKET_COLUMNS) == {c.key for c in Ticket.__table__.columns} - {"id"}
    assert set(COMMENT_COLUMNS) == {c.key for c in Comment.__table__.columns} - {"id"}
