"""The list's total, its type filter's choices and its live fingerprint.

The fingerprint changes when a ticket appears, leaves or changes in what the reader sees; the page and the
live poll both come here, so they always agree. An organisation's scope is usually a few hundred tickets: one
grouped statement reads them all. A scope that spans every organisation, or a big organisation's
(`app.services.scope_size`), is read through indexes instead (0014, 0016): the types by a loose scan of
their index, the page by `page_query`, and the total is counted only up to a bound (the page says "more
than 10,000"): counting a million index entries for a figure nobody reads exactly cost more than the rest
of the page.
"""

from __future__ import annotations

import hashlib
from datetime import tzinfo
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from app.portal.list_query import PER_PAGE, ListSpec, choices_query, conditions, stats_query, type_of
from app.portal.list_rows import page_query
from app.services.bounded_count import COUNT_BOUND, bounded_count
from app.services.scope_size import holds_many
from mappings import Mapping
from sync.models import Ticket, User
from sync.scope import visible_condition

# Pages the list links to past the reader's own (list.html): the bound covers them however deep the page.
PAGES_AHEAD = 3


class ListStats(NamedTuple):
    """The list's total (exact, or the bound when `capped`), its type choices and its fingerprint."""

    total: int
    types: list[str]
    version: str
    capped: bool = False


def _newest(rows: list[Any], index: int) -> Any:
    values = [row[index] for row in rows if row[index] is not None]
    return max(values) if values else None


def _digest(fingerprint: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:20]


def count_bound(spec: ListSpec) -> int:
    """How far the whole table's total is counted for `spec`'s page: the bound, or the pages the page links to."""
    return max(COUNT_BOUND, (spec.page + PAGES_AHEAD) * PER_PAGE)


# A page's rows as the fingerprint reads them: (id, update time, sync time).
Window = list[tuple[Any, ...]]


def window_of(tickets: list[Ticket]) -> Window:
    """The fingerprint's view of a page of tickets already read (`list_stats`' `window`)."""
    return [(t.id, t.jira_updated_at, t.last_synced_at) for t in tickets]


def list_stats(db: Session, user: User, spec: ListSpec, zone: tzinfo, mapping: Mapping,
               window: Window | None = None) -> ListStats:
    """Total of the filtered list, the scope's types and the list's fingerprint.

    `window`: the page's rows when the caller has read them already (`window_of`), for a scope read through
    indexes; otherwise they are read here.
    """
    if holds_many(db, user, spec.scope):
        total, capped, version = _whole_table_version(db, user, spec, zone, mapping, window)
        types = [t for t in db.scalars(choices_query(user, spec.scope, type_of(), many=True)) if t]
        return ListStats(total, types, version, capped)
    rows = db.execute(stats_query(user, spec, zone)).all()
    total = sum(row[1] for row in rows)
    types = sorted(row[0] for row in rows if row[0])
    return ListStats(total, types, _digest((total, _newest(rows, 2), _newest(rows, 3), _newest(rows, 4))))


def list_version(db: Session, user: User, spec: ListSpec, zone: tzinfo, mapping: Mapping) -> str:
    """`list_stats(...).version` alone, for the live poll (every few seconds per open list)."""
    if holds_many(db, user, spec.scope):
        return _whole_table_version(db, user, spec, zone, mapping)[2]
    return list_stats(db, user, spec, zone, mapping).version


def _whole_table_version(db: Session, user: User, spec: ListSpec, zone: tzinfo, mapping: Mapping,
                         window: Window | None = None) -> tuple[int, bool, str]:
    """The bounded total of a scope read through indexes, whether it reached the bound, and the fingerprint.

    The fingerprint is the bounded count and the page the reader sees (each row's id, update and sync time):
    the newest update of the whole filtered table would be a scan whenever a filter leaves a bucket empty,
    and a change the page does not show needs no refresh. A ticket that changes, appears or leaves before
    or on the page moves the page's rows; one that appears or leaves after it moves the count while the
    count is below the bound; past the bound the page says "more than" and nothing it shows has changed.

    A page that is not full ends the list: its rows and the ones before it are the total, with no count (a
    rare word's search is one read of its few rows instead of two), as the bounded count would give it.
    """
    if window is None:
        window = [tuple(row) for row in db.execute(
            page_query(db, user, spec, zone, mapping)
            .with_only_columns(Ticket.id, Ticket.jira_updated_at, Ticket.last_synced_at))]
    ended = (spec.page - 1) * PER_PAGE + len(window)
    if len(window) < PER_PAGE and (window or spec.page == 1) and ended <= count_bound(spec):
        total, exact = ended, True  # what the bounded count would say
    else:
        total, exact = bounded_count(db, [visible_condition(user, spec.scope), *conditions(spec, zone)],
                                     count_bound(spec))
    return total, not exact, _digest((total, exact, window))
