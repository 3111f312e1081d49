"""Retention: the webhook inbox keeps applied and ignored deliveries for a while, then lets them go.

Failed and pending rows are never deleted (they are what admins must see); applied rows are kept
long enough to recognise a late Jira Cloud retry as a duplicate (Cloud retries for ~30 minutes).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from sync.models import InboundEvent, InboxState, utcnow

if TYPE_CHECKING:
    from sync.runtime import Runtime

KEEP_DAYS = 14
BATCH = 5_000


def prune_inbox(runtime: Runtime, keep_days: int = KEEP_DAYS) -> int:
    """Delete applied/ignored inbox rows older than `keep_days`, in small batches; returns how many."""
    cutoff = utcnow() - timedelta(days=keep_days)
    deleted = 0
    while True:
        with runtime.sessions() as session, session.begin():
            ids = list(session.scalars(select(InboundEvent.id).where(
                InboundEvent.state.in_((InboxState.APPLIED, InboxState.IGNORED)), InboundEvent.received_at < cutoff)
                .order_by(InboundEvent.id).limit(BATCH)))
            if ids:
                session.execute(delete(InboundEvent).where(InboundEvent.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < BATCH:
            return deleted
