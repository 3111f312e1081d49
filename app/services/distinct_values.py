"""The distinct values of a column among many rows, read as a loose index scan.

`SELECT DISTINCT name ... ORDER BY name` over a million tickets reads every row even when there are a
handful of names. Neither PostgreSQL (before 18) nor SQLite skips through an index on its own, but both
run a recursive query that asks the index for the smallest value above the previous one: one index probe
per distinct value, however many rows carry it. The same text runs on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select


def distinct_values(column: ColumnElement[Any], where: list[ColumnElement[bool]],
                    limit: int | None = None) -> Select[Any]:
    """The distinct non-null values of `column` among the rows matching `where`, in order (the first `limit`).

    Fast when an index leads with `column` (and its partial predicate is among `where`); otherwise each
    probe is a scan, so use it only where such an index exists.
    """
    first = select(func.min(column).label("value")).where(*where, column.is_not(None))
    seen = first.cte("seen", recursive=True)
    following = select(func.min(column)).where(*where, column > seen.c.value).scalar_subquery()
    seen = seen.union_all(select(following).where(seen.c.value.is_not(None)))
    return select(seen.c.value).where(seen.c.value.is_not(None)).limit(limit)
