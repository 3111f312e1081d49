"""`drain_inbox` applies a batch together, and falls back to one savepoint per row when that fails (SQLite + PG)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from sync.models import Comment, InboundEvent, OutboxAction, StatusHistory, Ticket, utcnow
from tests.conftest import make_settings
from tests.helpers import drain, issue_payload, make_account
from tests.inbound.test_apply import status_change

DELIVERY = itertools.count()
T0, T1, T2 = "2026-01-01T10:00:00.000+0000", "2026-01-01T11:00:00.000+0000", "2026-01-01T12:00:00.000+0000"


@pytest.fixture
def runtime(tmp_path: Path, any_database_url: str, redis_url: str, redis_client) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(make_settings(tmp_path, any_database_url, redis_url), {"TESTING": True})
    yield app.extensions["companion"]
    app.extensions["companion"].close()


def enqueue(runtime: Any, *bodies: dict[str, Any] | str) -> None:
    """Put webhook bodies in the inbox, in this order (a str is stored as the raw payload)."""
    with runtime.sessions() as db, db.begin():
        db.execute(insert(InboundEvent), [
            {"delivery_id": f"batch-{next(DELIVERY)}", "webhook_event": "x", "state": "pending", "attempts": 0,
             "payload": b if isinstance(b, str) else json.dumps(b), "received_at": utcnow()} for b in bodies])


def states(runtime: Any) -> list[tuple[str, str | None]]:
    with runtime.sessions() as db:
        return [(r.state, r.reason) for r in db.scalars(select(InboundEvent).order_by(InboundEvent.id))]


def comment_body(comment_id: str, issue_id: str, author: str, updated: str = T1, public: bool = True) -> dict:
    return {"timestamp": 1, "webhookEvent": "comment_created", "issue": {"id": issue_id, "key": "SUP-1"},
            "comment": {"id": comment_id, "body": "hello", "author": {"accountId": author, "displayName": "X"},
                        "created": updated, "updated": updated, "jsdPublic": public}}


def test_one_bad_row_fails_alone_with_a_reason_and_the_others_apply(runtime: Any) -> None:
    # The second issue reuses the first one's key: its insert breaks the unique key, which fails the
    # batch; row by row, only that row fails (with the database's reason), the others are applied.
    enqueue(runtime, issue_payload("SUP-1", jira_id="1", updated=T0), "not json",
            issue_payload("SUP-1", jira_id="2", updated=T0), issue_payload("SUP-3", jira_id="3", updated=T0))
    assert drain(runtime) == {"applied": 2, "failed": 2}
    result = states(runtime)
    assert [s for s, _ in result] == ["applied", "failed", "failed", "applied"]
    assert result[1][1].startswith("JSONDecodeError") and result[2][1].startswith("IntegrityError")
    with runtime.sessions() as db:
        assert sorted(db.scalars(select(Ticket.jira_id))) == ["1", "3"]
        assert len(db.scalars(select(StatusHistory)).all()) == 2  # each new ticket's first entry, once
        assert list(db.scalars(select(InboundEvent.attempts))) == [1, 1, 1, 1]


def test_events_of_one_ticket_in_one_batch_apply_in_order_and_stay_order_safe(runtime: Any) -> None:
    created = issue_payload(updated=T0, event="jira:issue_created", changelog_id="100")
    progress = status_change("101", "Waiting for Support", "In Progress", T1)
    resolved = status_change("102", "In Progress", "Resolved", T2)
    # Newest before an older one, and a redelivery: the older one changes nothing but its history.
    enqueue(runtime, created, resolved, progress, resolved, comment_body("c1", "10001", "agent-9"))
    assert drain(runtime) == {"applied": 5}
    with runtime.sessions() as db:
        ticket = db.scalars(select(Ticket)).one()
        assert (ticket.customer_status, ticket.jira_updated_at.hour) == ("resolved", 12)
        assert [h.customer_status for h in db.scalars(select(StatusHistory).order_by(StatusHistory.at))] == \
            ["open", "in_progress", "resolved"]
        comment = db.scalars(select(Comment)).one()
        assert (comment.public, comment.from_support, comment.ticket_id) == (True, True, ticket.id)


def test_comment_before_its_issue_is_deferred_without_stopping_the_batch(runtime: Any) -> None:
    enqueue(runtime, comment_body("c1", "10001", "agent-9"), issue_payload("SUP-2", jira_id="2", updated=T0))
    counts = drain(runtime)
    assert counts == {"applied": 1, "deferred": 1}
    assert states(runtime)[0][1].startswith("deferred: issue 10001 is not mirrored yet")


def test_portal_authors_and_reporter_organisations_come_from_the_batch_lookups(runtime: Any) -> None:
    make_account(runtime, "bob@acme.test", jira_account_id="acc-bob")
    make_account(runtime, "alice@acme.test", jira_account_id="acc-1")
    enqueue(runtime, issue_payload(updated=T0), comment_body("c1", "10001", "acc-bob"),
            comment_body("c2", "10001", "agent-9"))
    assert drain(runtime) == {"applied": 3}
    with runtime.sessions() as db:
        ticket = db.scalars(select(Ticket)).one()
        assert ticket.organization_id is not None  # the reporter's (alice's) organisation
        support = {c.jira_id: c.from_support for c in db.scalars(select(Comment))}
        assert support == {"c1": False, "c2": True}


def test_transition_echo_is_recognised_from_the_batch_read_of_the_outbox(runtime: Any) -> None:
    enqueue(runtime, issue_payload(updated=T0))
    drain(runtime)
    with runtime.sessions() as db, db.begin():
        ticket_id = db.scalars(select(Ticket.id)).one()
        db.add(OutboxAction(uuid="u-1", kind="resolve", ticket_id=ticket_id, state="sending",
                            payload={"jsm_actor": "agent-1"}))
    # Our own account's hop webhooks change nothing; another actor's event on another ticket applies.
    echo = status_change("201", "Waiting for Support", "In Progress", T1)
    other = issue_payload("SUP-2", jira_id="2", updated=T1)
    enqueue(runtime, echo, other)
    assert drain(runtime) == {"applied": 2}
    assert states(runtime)[1][1] == "echo of our own transition"
    with runtime.sessions() as db:
        assert db.scalars(select(Ticket.customer_status).where(Ticket.id == ticket_id)).one() == "open"


def test_a_ticket_created_meanwhile_by_another_drain_is_updated_not_failed(runtime: Any) -> None:
    # PostgreSQL: another drain inserts the same new ticket and commits while this batch waits on it.
    # The batch fails with a unique violation; row by row, a fresh read finds the ticket and updates it.
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("concurrent drains take rows with SKIP LOCKED on PostgreSQL only")
    import threading
    import time

    from sync.inbound.upsert import apply_issue
    from sync.jsm.events import normalise

    enqueue(runtime, issue_payload(updated=T1, summary="newer"), issue_payload("SUP-2", jira_id="2", updated=T0))
    other = runtime.sessions()
    other.begin()
    apply_issue(other, normalise(issue_payload(updated=T0)).issue, runtime.mapping)  # inserted, not committed
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(drain(runtime)))
    worker.start()
    time.sleep(1.0)  # the drain's insert of the same ticket now waits for `other`
    other.commit()
    other.close()
    worker.join(30)
    assert result == {"applied": 2}
    with runtime.sessions() as db:
        assert db.scalars(select(Ticket.summary).where(Ticket.jira_id == "10001")).one() == "newer"


def attempts_and_retry(runtime: Any) -> list[tuple[int, bool]]:
    with runtime.sessions() as db:
        return [(r.attempts, r.retry_at is not None)
                for r in db.scalars(select(InboundEvent).order_by(InboundEvent.id))]


def test_a_failed_batch_is_rolled_back_whole_and_its_rows_applied_one_by_one_each_attempt_counted_once(
        runtime: Any) -> None:
    # The poison row (a second issue with the first one's key) breaks the batch after its neighbours
    # wrote theirs; the batch's transaction rolls back and a new one applies each row on its own.
    enqueue(runtime, issue_payload("SUP-1", jira_id="1", updated=T0), comment_body("c9", "77", "agent-9"),
            issue_payload("SUP-1", jira_id="2", updated=T0), comment_body("c1", "1", "agent-9"),
            issue_payload("SUP-3", jira_id="3", updated=T0))
    assert drain(runtime) == {"applied": 3, "failed": 1, "deferred": 1}
    assert [s for s, _ in states(runtime)] == ["applied", "pending", "failed", "applied", "applied"]
    # Once each: the failed batch's attempt left nothing behind (no second history entry, no count). The
    # deferred comment had a second try: a drain that applied rows gives its deferred ones another at once.
    assert attempts_and_retry(runtime) == [(1, False), (2, True), (1, False), (1, False), (1, False)]
    with runtime.sessions() as db:
        assert sorted(db.scalars(select(Ticket.jira_id))) == ["1", "3"]
        assert len(db.scalars(select(StatusHistory)).all()) == 2
        assert db.scalars(select(Comment.jira_id)).all() == ["c1"]


def test_a_deferred_row_counts_one_attempt_per_drain_until_it_gives_up(runtime: Any) -> None:
    from sqlalchemy import update

    from sync.inbound.outcomes import MAX_DEFERRALS

    enqueue(runtime, comment_body("c1", "404", "agent-9"))
    for attempt in range(1, MAX_DEFERRALS + 1):
        with runtime.sessions() as db, db.begin():  # due again at once
            db.execute(update(InboundEvent).values(retry_at=None))
        drain(runtime)
        assert attempts_and_retry(runtime) == [(attempt, attempt < MAX_DEFERRALS)]
    state, reason = states(runtime)[0]
    assert state == "failed" and reason is not None and reason.endswith(f"gave up after {MAX_DEFERRALS} attempts")
