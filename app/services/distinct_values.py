"""The distinct values of a column among many rows, read as a loose index scan.

`SELECT DISTINCT name ... ORDER BY name` over a million tickets reads every row even when there are a
handful of names. Neither PostgreSQL (before 18) nor SQLite skips through an index on its own, but both
run a recursive query that asks the index for the smallest value above the previous one: one index probe
per distinct value, however many rows carry it. The same text runs on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, union

from mappings import BUCKETS
from sync.models import BUCKET_RANK

BUCKET_RANKS = range(len(BUCKETS) + 1)  # the buckets, and the rank of anything else


def distinct_values(column: ColumnElement[Any], where: list[ColumnElement[bool]],
                    limit: int | None = None, name: str = "seen") -> Select[Any]:
    """The distinct non-null values of `column` among the rows matching `where`, in order (the first `limit`).

    Fast when an index leads with `column` (or with columns `where` fixes to one value, then `column`; and
    its partial predicate is among `where`); otherwise each probe is a scan, so use it only where such an
    index exists. `name` names the recursive query (several in one statement need their own).
    """
    first = select(func.min(column).label("value")).where(*where, column.is_not(None))
    seen = first.cte(name, recursive=True)
    following = select(func.min(column)).where(*where, column > seen.c.value).scalar_subquery()
    seen = seen.union_all(select(following).where(seen.c.value.is_not(None)))
    return select(seen.c.value).where(seen.c.value.is_not(None)).limit(limit)


def distinct_by_rank(column: Any, where: list[ColumnElement[bool]], limit: int | None = None) -> Select[Any]:
    """The distinct non-null values of `column` among live tickets matching `where`, in order (the first `limit`),
    for a column whose index leads with the bucket rank (0016): a loose scan of each rank's range, merged."""
    parts = [select(distinct_values(column, [*where, rank == BUCKET_RANK], limit, name=f"seen{rank}")
                    .subquery().c.value) for rank in BUCKET_RANKS]
    merged = union(*parts).subquery()
    return select(merged.c.value).order_by(merged.c.value).limit(limit)


def distinct_in_parts(column: Any, parts: list[ColumnElement[bool]], limit: int | None = None) -> Select[Any]:
    """The distinct non-null values of `column` among the rows matching any of `parts`, in order (the first
    `limit`): a loose scan per part, merged. For one organisation's tickets (and the few requests elsewhere its
    viewer takes part in, `sync.scope.visible_parts`), whose indexes lead with the organisation (0020)."""
    if len(parts) == 1:
        return distinct_values(column, parts, limit)
    reads = [select(distinct_values(column, [part], limit, name=f"seen{n}").subquery().c.value)
             for n, part in enumerate(parts)]
    merged = union(*reads).subquery()
    return select(merged.c.value).order_by(merged.c.value).limit(limit)
