"""Retention: confirmed customer actions are kept for a while, then let go.

An action JSM confirmed (`done`) is history once its comment carries JSM's id; it is kept `KEEP_DAYS`
(as long as the notification history, so "what did this customer send, and when did JSM take it?" can
be answered for a quarter), then deleted in small batches. Failed actions are never deleted (they are
what admins must see), nor is anything still owed to JSM. The rows pointing at a deleted action (its
comment, the automatic rule's event) keep their own data and lose only the link.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from sync.models import Comment, OutboxAction, OutboxState, PolicyEvent, utcnow

KEEP_DAYS = 90
BATCH = 2_000


def prune_actions(session: Session, cutoff: datetime, limit: int = BATCH) -> int:
    """Delete confirmed actions last changed before `cutoff`; returns how many.

    An action whose local comment still has no JSM id is kept: the comment's sync state is read
    through it (and the next webhook of that comment is recognised as ours by it).
    """
    unlinked_comment = exists().where(Comment.outbox_action_id == OutboxAction.id, Comment.jira_id.is_(None))
    ids = list(session.scalars(select(OutboxAction.id).where(
        OutboxAction.state == OutboxState.DONE, OutboxAction.updated_at < cutoff, ~unlinked_comment)
        .order_by(OutboxAction.id).limit(limit)))
    if ids:
        session.execute(update(Comment).where(Comment.outbox_action_id.in_(ids)).values(outbox_action_id=None))
        session.execute(update(PolicyEvent).where(PolicyEvent.outbox_action_id.in_(ids))
                        .values(outbox_action_id=None))
        session.execute(delete(OutboxAction).where(OutboxAction.id.in_(ids)))
    return len(ids)


def cutoff_for(keep_days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=keep_days)
