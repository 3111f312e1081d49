"""Customer actions JSM confirmed are kept 90 days; failed and owed ones, and unlinked comments' actions, stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rq.cron import CronScheduler
from sqlalchemy import select

from sync.jobs import prune_outbox, register_cron
from sync.models import Comment, OutboxAction, OutboxState, PolicyEvent, utcnow
from tests.conftest import make_settings
from tests.portal.conftest import alice_with_a_request

OLD = utcnow() - timedelta(days=91)
RECENT = utcnow() - timedelta(days=89)


@pytest.fixture
def runtime(tmp_path: Path, any_database_url: str, redis_url: str, redis_client) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(make_settings(tmp_path, any_database_url, redis_url), {"TESTING": True})
    yield app.extensions["companion"]
    app.extensions["companion"].close()


def _actions(runtime: Any) -> dict[str, int]:
    """One action per case; the old done comment is linked (JSM id) and referenced by a rule's event."""
    user_id, _, ticket_id = alice_with_a_request(runtime)
    cases = {"old done": (OLD, OutboxState.DONE), "recent done": (RECENT, OutboxState.DONE),
             "old failed": (OLD, OutboxState.FAILED), "old pending": (OLD, OutboxState.PENDING),
             "old sending": (OLD, OutboxState.SENDING), "old done unlinked": (OLD, OutboxState.DONE)}
    ids = {}
    with runtime.sessions() as db, db.begin():
        for n, (name, (at, state)) in enumerate(cases.items()):
            action = OutboxAction(uuid=f"00000000-0000-0000-0000-{n:012d}", kind="comment", user_id=user_id,
                                  ticket_id=ticket_id, payload={}, state=state, created_at=at, updated_at=at)
            db.add(action)
            db.flush()
            ids[name] = action.id
        db.add_all([
            Comment(ticket_id=ticket_id, jira_id="c1", body="linked", created_at=OLD, updated_at=OLD,
                    outbox_action_id=ids["old done"]),
            Comment(ticket_id=ticket_id, jira_id=None, body="no JSM id yet", created_at=OLD, updated_at=OLD,
                    outbox_action_id=ids["old done unlinked"]),
            PolicyEvent(rule="nudge", action="comment", ticket_id=ticket_id, anchor="a1", clock_started_at=OLD,
                        fired_at=OLD, outbox_action_id=ids["old done"]),
        ])
    return ids


def test_old_confirmed_actions_go_the_rest_stays(runtime: Any) -> None:
    ids = _actions(runtime)

    assert prune_outbox(runtime) == {"deleted": 1}
    with runtime.sessions() as db:
        kept = {a.id for a in db.scalars(select(OutboxAction))}
        assert kept == set(ids.values()) - {ids["old done"]}
        linked = db.scalars(select(Comment).where(Comment.jira_id == "c1")).one()
        assert linked.outbox_action_id is None and linked.body == "linked"  # the comment stays, only the link goes
        assert db.scalars(select(PolicyEvent)).one().outbox_action_id is None
        unlinked = db.scalars(select(Comment).where(Comment.jira_id.is_(None))).one()
        assert unlinked.outbox_action_id == ids["old done unlinked"]
    assert prune_outbox(runtime) == {"deleted": 0}


def test_the_prune_runs_daily(runtime: Any) -> None:
    cron = CronScheduler(connection=runtime.redis)
    register_cron(cron, runtime.settings)
    prunes = [job for job in cron.get_jobs() if job.func is prune_outbox]
    assert len(prunes) == 1 and prunes[0].cron == "52 3 * * *" and prunes[0].queue_name == "maintenance"
