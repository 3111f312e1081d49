"""The list's total, its type filter's choices and its live fingerprint.

The fingerprint changes when a ticket appears, leaves or changes; the page and the live poll both come
here, so they always agree. An organisation's scope is a few hundred tickets: one grouped statement reads
them all. A scope that spans every organisation is read through indexes instead (migration 0014): the types
by a loose scan of their index, the page by `page_query`. The count stays exact: an index-only count of the
matching entries, not an estimate.
"""

from __future__ import annotations

import hashlib
from datetime import tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.portal.list_query import ListSpec, conditions, stats_query, type_of
from app.portal.list_rows import page_query
from app.services.distinct_values import distinct_values
from mappings import Mapping
from sync.models import Ticket, User
from sync.scope import spans_every_organisation, visible_condition


def _newest(rows: list[Any], index: int) -> Any:
    values = [row[index] for row in rows if row[index] is not None]
    return max(values) if values else None


def _digest(fingerprint: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:20]


def list_stats(db: Session, user: User, spec: ListSpec, zone: tzinfo, mapping: Mapping) -> tuple[int, list[str], str]:
    """Total of the filtered list, the scope's types and the list's fingerprint."""
    if spans_every_organisation(user, spec.scope):
        return _whole_table_stats(db, user, spec, zone, mapping)
    rows = db.execute(stats_query(user, spec, zone)).all()
    total = sum(row[1] for row in rows)
    types = sorted(row[0] for row in rows if row[0])
    return total, types, _digest((total, _newest(rows, 2), _newest(rows, 3), _newest(rows, 4)))


def _whole_table_stats(db: Session, user: User, spec: ListSpec, zone: tzinfo,
                       mapping: Mapping) -> tuple[int, list[str], str]:
    """`list_stats` for every live ticket, each figure read through an index rather than from every row.

    The fingerprint is the exact count and the page the reader sees (each row's id, update and sync time):
    the newest update of the whole filtered table would be a scan whenever a filter leaves a bucket empty,
    and a change the page does not show needs no refresh. A ticket that changes, appears or leaves before
    or on the page moves the page's rows; one that appears or leaves after it moves the count.
    """
    scope = visible_condition(user, spec.scope)
    total = int(db.scalar(select(func.count()).where(scope, *conditions(spec, zone))) or 0)
    window = db.execute(page_query(db, user, spec, zone, mapping)
                        .with_only_columns(Ticket.id, Ticket.jira_updated_at, Ticket.last_synced_at)).all()
    types = sorted(t for t in db.scalars(distinct_values(type_of(), [scope])) if t)
    return total, types, _digest((total, [tuple(row) for row in window]))
