"""Retention: the notification outbox keeps its history for a while, then lets it go.

Sent mails, the facts behind them and each recipient's row are kept `KEEP_DAYS` (long enough for an
admin at /admin/mail to answer "did they get told?"), then deleted in small batches with the `.eml` files
of the same age. Failed and uncertain mails are never deleted (they are what admins must see), nor is
anything still to be sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from sync.models import MailState, Notification, NotificationEvent, NotificationState, OutgoingMail, utcnow

KEEP_DAYS = 90
BATCH = 2_000


def prune_facts(session: Session, cutoff: datetime, limit: int = BATCH) -> int:
    """Delete fanned-out facts older than `cutoff` none of whose notifications still waits; returns how many."""
    waiting = exists().where(Notification.event_id == NotificationEvent.id,
                             Notification.state == NotificationState.PENDING)
    ids = list(session.scalars(select(NotificationEvent.id).where(
        NotificationEvent.fanned_out.is_(True), NotificationEvent.created_at < cutoff, ~waiting)
        .order_by(NotificationEvent.id).limit(limit)))
    if ids:
        session.execute(delete(Notification).where(Notification.event_id.in_(ids)))
        session.execute(delete(NotificationEvent).where(NotificationEvent.id.in_(ids)))
    return len(ids)


def prune_mails(session: Session, cutoff: datetime, limit: int = BATCH) -> int:
    """Delete sent mails older than `cutoff` that no kept notification points at; returns how many."""
    pointed_at = exists().where(Notification.mail_id == OutgoingMail.id)
    ids = list(session.scalars(select(OutgoingMail.id).where(
        OutgoingMail.state == MailState.SENT, OutgoingMail.created_at < cutoff, ~pointed_at)
        .order_by(OutgoingMail.id).limit(limit)))
    if ids:
        session.execute(delete(OutgoingMail).where(OutgoingMail.id.in_(ids)))
    return len(ids)


def prune_eml_files(directory: Path, cutoff: datetime) -> int:
    """Delete `.eml` files (the embedded transport's mails) last written before `cutoff`; returns how many."""
    if not directory.is_dir():
        return 0
    deleted = 0
    for path in directory.glob("*.eml"):
        try:
            if path.stat().st_mtime < cutoff.timestamp():
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue  # another worker's prune got there first
    return deleted


def cutoff_for(keep_days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=keep_days)

