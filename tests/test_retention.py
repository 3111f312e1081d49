"""Inbox retention: old applied/ignored rows go; failed and pending rows stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sync.inbound.retention import prune_inbox
from sync.models import InboundEvent, utcnow


def test_prune_keeps_what_admins_need(runtime) -> None:  # type: ignore[no-untyped-def]
    old, new = utcnow() - timedelta(days=30), utcnow()
    with runtime.sessions() as db, db.begin():
        for n, (state, received) in enumerate([("applied", old), ("ignored", old), ("failed", old),
                                               ("pending", old), ("applied", new)]):
            db.add(InboundEvent(delivery_id=f"d{n}", webhook_event="jira:issue_updated", payload="{}",
                                state=state, received_at=received))
    assert prune_inbox(runtime) == 2
    with runtime.sessions() as db:
        left = sorted(db.execute(select(InboundEvent.delivery_id, InboundEvent.state)).all())
    assert left == [("d2", "failed"), ("d3", "pending"), ("d4", "applied")]
