"""The summary of every organisation's tickets (an administrator's), kept for minutes instead of recounted.

`build_summary` over a million tickets reads every row (counts by status, the 90-day history, medians, SLA
months): 10–30 s on two cores, two thirds of it the median first response in working hours (one calendar
walk per request of the last 90 days). No figure there needs to be to-the-second exact, so for a scope
that spans every organisation and holds more than `KEEP_ABOVE` tickets the built summary is kept in Redis.
A reader within `FRESH_SECONDS` of its build gets it as it is; a later one gets it too (for at most
`KEEP_SECONDS`) while one background thread, single-flighted across processes by a Redis lock, builds the
next. Only the first reader after `KEEP_SECONDS` without any waits for a build. The page says when the
figures were counted. A smaller scope is built for each request as before.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session, sessionmaker

from app.services.bounded_count import COUNT_BOUND, bounded_count
from app.services.scope import visible_tickets
from app.services.summary import Translations, build_summary
from sync.models import User
from sync.scope import spans_every_organisation, visible_condition

# Kept only above this many live tickets (a bounded count: cheap however big the table).
KEEP_ABOVE = COUNT_BOUND
# A build costs seconds of the web process's CPU (its thread competes with the requests it serves): at most
# one every five minutes per reader, language and zone while someone reads it.
FRESH_SECONDS = 300
KEEP_SECONDS = 1800
LOCK_SECONDS = 300
log = logging.getLogger(__name__)

Build = Callable[[Session], dict[str, Any]]


def _store(redis: Redis, key: str, data: dict[str, Any]) -> None:
    entry = {"at": datetime.now(UTC).timestamp(), "data": data}
    redis.set(key, json.dumps(entry), ex=KEEP_SECONDS)


def _rebuild(sessions: sessionmaker[Session], redis: Redis, key: str, build: Build) -> None:
    try:
        with sessions() as db:
            _store(redis, key, build(db))
    except Exception:  # a background build must not die silently; the next reader tries again
        log.exception("building the summary of every organisation failed")
    finally:
        redis.delete(f"{key}:building")


def kept_summary(db: Session, sessions: sessionmaker[Session], redis: Redis, user: User, scope: str,
                 key_parts: tuple[str, ...], build: Build) -> dict[str, Any]:
    """`build(db)`, or for a big scope of every organisation its kept copy (`counted_at` says when it was built).

    `key_parts` tell the summary's variants apart (reader, locale, time zone, what else it depends on).
    """
    if not spans_every_organisation(user, scope) or bounded_count(db, [visible_condition(user, scope)], KEEP_ABOVE)[1]:
        return build(db)
    key = "companion:summary:" + ":".join((scope, str(user.id), *key_parts))
    raw = redis.get(key)
    if raw is None:
        data = build(db)
        _store(redis, key, data)
        return {**data, "counted_at": data["generated"]}
    entry = json.loads(raw)
    age = datetime.now(UTC).timestamp() - float(entry["at"])
    if age > FRESH_SECONDS and redis.set(f"{key}:building", "1", nx=True, ex=LOCK_SECONDS):
        threading.Thread(target=_rebuild, args=(sessions, redis, key, build), daemon=True,
                         name="summary-build").start()
    data = dict(entry["data"])
    data["counted_at"] = data["generated"]
    return data


def reader_summary(db: Session, runtime: Any, user: User, scope: str, locale: str, zone: tzinfo,
                   translations: Translations) -> dict[str, Any]:
    """The summary /summary and GET /api/v1/summary show `user` for `scope` (kept when it spans a big table).

    Everything the build needs is taken here, in the request: the background build runs outside it.
    """
    mapping = runtime.mapping

    def build(session: Session) -> dict[str, Any]:
        return build_summary(session, visible_tickets(user, scope), mapping, locale, zone,
                             translations=translations, reader=user)

    return kept_summary(db, runtime.sessions, runtime.redis, user, scope, (locale, str(zone)), build)
