"""An organisation's read-only share link: finding it by its token, and counting its reads.

Counting: one `UPDATE organizations SET share_access_count = share_access_count + 1` per read, in its own
short transaction after the answer's data is read. At this product's scale a link is read by a few people,
badges and cards refresh at most once a minute per viewer (their cache and meta refresh say so), so a
single-row update by primary key is far below what either database takes; it needs no Redis (embedded
installs run without a separate server) and cannot lose a count. A read never fails because the count
could not be written (e.g. SQLite busy under a long reconcile): the count is advisory, the read is not.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from app.services.accounts import hash_token
from sync.models import Organization, User

log = logging.getLogger(__name__)
MAX_TOKEN_LENGTH = 128
SHARE_LOCALES = ("en", "ru")


def find_link(db: Session, token: str, now: datetime) -> Organization | None:
    """The organisation whose live link `token` is; None for a wrong, revoked or expired one."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    org = db.scalars(select(Organization).where(Organization.share_token_hash == hash_token(token))).first()
    if org is None or (org.share_expires_at is not None and org.share_expires_at <= now):
        return None  # an expired link is as unknown as a wrong one: nothing tells what it once showed
    return org


def record_access(sessions: sessionmaker[Session], org_id: int, now: datetime) -> None:
    """Count one read of `org_id`'s link and remember when it happened."""
    try:
        with sessions() as db, db.begin():
            db.execute(update(Organization).where(Organization.id == org_id)
                       .values(share_access_count=Organization.share_access_count + 1, share_last_access_at=now))
    except OperationalError:
        log.warning("share link read of organisation %s not counted: the database was busy", org_id)


def link_locale(org: Organization, default: str) -> str:
    """The language the link was made in (links made before links had one speak the portal's default)."""
    return org.share_locale if org.share_locale in SHARE_LOCALES else default


def share_link_rows(db: Session, now: datetime) -> list[dict[str, Any]]:
    """Every organisation that has a link (live or expired): maker, dates, language, subjects, reads."""
    makers = aliased(User)
    rows = db.execute(select(Organization, makers.email)
                      .outerjoin(makers, makers.id == Organization.share_created_by_id)
                      .where(Organization.share_token_hash.is_not(None)).order_by(Organization.name)).all()
    out = [{"org": org.name, "slug": org.slug, "maker": email, "created": org.share_created_at,
            "expires": org.share_expires_at, "locale": org.share_locale, "with_subjects": org.share_with_subjects,
            "reads": org.share_access_count, "last_read": org.share_last_access_at,
            "live": org.share_expires_at is None or org.share_expires_at > now} for org, email in rows]
    return sorted(out, key=lambda row: not row["live"])
