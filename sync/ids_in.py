"""`column IN (subquery)` written so each database can use an index for it inside an OR.

PostgreSQL plans `id IN (SELECT ...)` under an OR as a filter over every row (a hashed subplan, a
sequential scan of a million tickets); `id = ANY(ARRAY(SELECT ...))` runs the subquery once and probes the
primary key with its result, so the OR becomes a bitmap OR of index scans. SQLite plans plain IN with an
index either way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class IdsIn(ColumnElement[bool]):
    """`column` is one of the values `subquery` (one column) returns."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], subquery: Select[Any]) -> None:
        self.column = column
        self.subquery = subquery

    # What SQLAlchemy's statement cache and copying walk: both parts (the subquery holds the parameters).
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]


@compiles(IdsIn)
def _in_subquery(element: IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} IN ({compiler.process(element.subquery, **kw)})"


@compiles(IdsIn, "postgresql")
def _any_array(element: IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY(ARRAY({compiler.process(element.subquery, **kw)}))"
