"""Portal sessions held on the server, in the database.

Why the database and not Redis: a session is a credential whose end must hold (sign-out, a password
change, deactivation), and the database is this install's durable truth; the install's Redis may be
embedded or restarted empty, which would sign everyone out, or (from a stale replica) sign someone back
in. The browser's cookie carries only a random session id; the row keeps its SHA-256, so a copy of the
table signs nobody in. `last_seen_at` is written at most once a minute per session to spare the database.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.models import User, WebSession, utcnow

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(db: Session, user: User, user_agent: str, ip_address: str) -> str:
    """Record a new session for `user`; returns the id for the cookie (never stored in plain)."""
    session_id = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=_hash(session_id), user_id=user.id, user_agent=user_agent[:255],
                      ip_address=ip_address[:64]))
    return session_id


def live_session(db: Session, session_id: str, timeouts: Timeouts, *, touch: bool = True,
                 now: datetime | None = None) -> WebSession | None:
    """The session this id names if it is neither idle too long nor too old (an expired one is deleted)."""
    now = now or utcnow()
    row = db.scalars(select(WebSession).where(WebSession.token_hash == _hash(session_id))).first()
    if row is None:
        return None
    if now - row.last_seen_at > timeouts.idle or now - row.created_at > timeouts.absolute:
        db.delete(row)
        db.commit()
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return row


def end_session(db: Session, session_id: str) -> None:
    """Delete the session this id names (sign-out): the cookie, wherever a copy of it is, is void."""
    db.execute(delete(WebSession).where(WebSession.token_hash == _hash(session_id)))


def end_user_sessions(db: Session, user_id: int, keep: str | None = None) -> int:
    """Delete every session of the user but the one `keep` names; returns how many ended."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.token_hash != _hash(keep))
    return int(db.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def end_one_session(db: Session, user_id: int, row_id: int) -> bool:
    """Delete one of the user's own sessions by its row id; False when it is not theirs or gone."""
    result = db.execute(delete(WebSession).where(WebSession.id == row_id, WebSession.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def sessions_of(db: Session, user_id: int) -> list[WebSession]:
    """The user's sessions, most recently used first."""
    return list(db.scalars(select(WebSession).where(WebSession.user_id == user_id)
                           .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())).all())


def is_current(row: WebSession, session_id: str | None) -> bool:
    """Whether `row` is the session of this request (the account page marks it and keeps it)."""
    return session_id is not None and secrets.compare_digest(row.token_hash, _hash(session_id))


def purge_expired(db: Session, timeouts: Timeouts, now: datetime | None = None) -> int:
    """Delete every session past either timeout (rows of people who never came back)."""
    now = now or utcnow()
    result = db.execute(delete(WebSession).where(
        (WebSession.last_seen_at < now - timeouts.idle) | (WebSession.created_at < now - timeouts.absolute)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
