"""The summary of a big scope, counted by a worker and kept for minutes: every organisation's tickets (an
administrator's), or a big organisation's.

Counting a million tickets reads every row (counts by status, the 90-day history, medians, SLA months)
and costs seconds of CPU; a customer of 50,000 tickets costs most of a second. No figure there needs to
be to-the-second exact, so for a scope that spans every organisation, or an organisation scope
(`app.services.scope_size`), holding more than `KEEP_ABOVE` tickets the figures are counted by a job on
the worker (`sync.jobs.summary`), never in a web process, and kept in Redis for each reader (the figures
say which waiting requests are the reader's own). A reader within
`FRESH_SECONDS` of the count gets the kept figures as they are; a later one gets them too (for at most
`KEEP_SECONDS`) while one job counts the next. With none kept yet the reader is told they are being
counted (`COUNTING`; the page refreshes itself). The page says when the figures were counted, and each
reader's language words the same kept figures. A smaller scope is counted for each request as before.

Last resorts, each logged: with Redis away, or no worker taking the job's queue (a web process run
alone), the figures are counted in the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from redis import Redis
from sqlalchemy.orm import Session

from app.services.bounded_count import COUNT_BOUND, bounded_count
from app.services.scope import visible_tickets
from app.services.summary import Translations, present_summary
from sync.jobs import (
    FRESH_SECONDS,
    SUMMARY_QUEUE,
    keep_figures,
    kept_figures,
    request_count,
    summary_key,
    workers_counting,
)
from sync.jobs.common import REDIS_DOWN
from sync.models import User
from sync.reports.scope_summary import summary_figures
from sync.scope import spans_every_organisation, visible_condition

# Kept only above this many live tickets (a bounded count: cheap however big the table).
KEEP_ABOVE = COUNT_BOUND
# What a reader gets while the first count of their summary runs.
COUNTING: dict[str, Any] = {"counting": True}
# How often the "being counted" page looks again, in seconds.
RECHECK_SECONDS = 5
log = logging.getLogger(__name__)

Count = Callable[[], dict[str, Any]]


def kept_for(db: Session, user: User, scope: str) -> bool:
    """Whether `user`'s summary of `scope` is counted by a job and kept: more than `KEEP_ABOVE` tickets of
    every organisation, or of an organisation (a reader's own requests and a group's open ones stay few)."""
    if spans_every_organisation(user, scope) or scope == "org":
        return not bounded_count(db, [visible_condition(user, scope)], KEEP_ABOVE)[1]
    return False


def kept_summary(db: Session, redis: Redis, user: User, scope: str, zone: str, count: Count) -> dict[str, Any]:
    """`count()`'s figures, or for a big scope the kept ones (`counted_at` says when they were counted) or
    `COUNTING`. `zone` is the time zone's name (the figures' days depend on it)."""
    if not kept_for(db, user, scope):
        return count()
    key = summary_key(scope, user.id, zone)
    try:
        kept = kept_figures(redis, key)
        if kept is not None and kept.age <= FRESH_SECONDS:
            return {**kept.figures, "counted_at": kept.figures["generated"]}
        if not workers_counting(redis):
            log.warning("no worker takes queue %r: the summary of scope %s is counted in this request",
                        SUMMARY_QUEUE, scope)
            figures = count()
            keep_figures(redis, key, figures)
            return {**figures, "counted_at": figures["generated"]}
        request_count(redis, user.id, scope, zone)
    except REDIS_DOWN as exc:
        log.warning("Redis unavailable (%s): the summary of scope %s is counted in this request", exc, scope)
        return count()
    if kept is None:
        return COUNTING
    return {**kept.figures, "counted_at": kept.figures["generated"]}


def reader_summary(db: Session, runtime: Any, user: User, scope: str, locale: str, zone: tzinfo,
                   translations: Translations) -> dict[str, Any]:
    """The summary /summary and GET /api/v1/summary show `user` for `scope` (kept when it spans a big table),
    or `COUNTING` while its first count runs."""
    mapping = runtime.mapping

    def count() -> dict[str, Any]:
        return summary_figures(db, visible_tickets(user, scope), mapping.policies.calendar, zone, reader=user)

    figures = kept_summary(db, runtime.redis, user, scope, str(zone), count)
    if figures.get("counting"):
        return dict(COUNTING)
    summary = present_summary(figures, mapping, locale, translations=translations)
    if "counted_at" in figures:
        summary["counted_at"] = figures["counted_at"]
    return summary
