"""From facts to recipients, and from a user's due notifications to one e-mail.

`fan_out` turns each new `NotificationEvent` into one `Notification` per candidate (pending, or skipped
with the reason). `due_users` finds users whose oldest pending notification's coalescing window has
ended; `sync.notify.compose` then folds all of that user's pending notifications into one mail, so 20
changes of one request, or one bulk change of 50 requests, become one e-mail per user.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync.models import Notification, NotificationEvent, NotificationState, Ticket, utcnow
from sync.notify.recipients import instant_recipients


def fan_out(session: Session, coalesce_seconds: int, limit: int = 500) -> int:
    """Give every new event its recipients; returns how many notifications wait for an e-mail."""
    events = list(session.scalars(select(NotificationEvent).where(NotificationEvent.fanned_out.is_(False))
                                  .order_by(NotificationEvent.id).limit(limit).with_for_update(skip_locked=True)))
    pending = 0
    window = timedelta(seconds=coalesce_seconds)
    for event in events:
        event.fanned_out = True
        ticket = session.get(Ticket, event.ticket_id)
        if ticket is None or ticket.deleted:
            continue
        actor_user_id = event.details.get("actor_user_id")
        for user, reason in instant_recipients(session, ticket, actor_account_id=event.actor_account_id,
                                               actor_user_id=actor_user_id if isinstance(actor_user_id, int) else None):
            session.add(Notification(event_id=event.id, user_id=user.id, ticket_id=ticket.id,
                                     state=NotificationState.SKIPPED if reason else NotificationState.PENDING,
                                     not_before=event.created_at + window, reason=reason))
            pending += reason is None
    session.flush()
    return pending


def due_users(session: Session, now: datetime | None = None) -> list[int]:
    """Users with pending notifications whose first window has ended (oldest first)."""
    now = now or utcnow()
    return list(session.scalars(
        select(Notification.user_id).where(Notification.state == NotificationState.PENDING)
        .group_by(Notification.user_id).having(func.min(Notification.not_before) <= now)
        .order_by(func.min(Notification.not_before))))
