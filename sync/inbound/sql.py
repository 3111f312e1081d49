"""Small SQL helpers of the batch reads and writes: set membership and INSERT … ON CONFLICT, per dialect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import JSON, ColumnElement, Select, Table, Text, any_, bindparam, cast, column, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session


def one_of(session: Session, column: InstrumentedAttribute[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `= ANY(array)`, one parameter for the whole batch.

    A batch asks about up to BATCH_SIZE ids several times: as an IN list each statement had hundreds of
    placeholders, and psycopg re-parsed every such statement (its cache skips long ones), which was about
    a tenth of the apply's CPU (bench/apply.py under cProfile).
    """
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def upsert_into(session: Session, table: Table) -> Any:
    """INSERT with ON CONFLICT, in the session's dialect (both spell it alike; SQLAlchemy has one of each)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


BATCH_ROWS = "batch_rows"


def rows_of_json(table: Table, columns: tuple[str, ...]) -> Select[Any]:
    """`SELECT * FROM json_to_recordset(:batch_rows) AS batch_rows(a type, b type, …)` (PostgreSQL).

    A batch's rows written by one INSERT … SELECT from this, rather than the same INSERT executed once per
    row: the server plans and runs one statement instead of 200 (a third off writing 200 tickets,
    bench/apply.py), and the rows travel as one JSON document that orjson writes in C, where binding
    them column by column cost the drain more CPU than everything else it does to a row but parse it.
    """
    typed = [column(name, table.c[name].type) for name in columns]
    rows = func.json_to_recordset(cast(bindparam(BATCH_ROWS, type_=Text()), JSON)).table_valued(*typed) \
        .render_derived(name=BATCH_ROWS, with_types=True)
    return select(*(rows.c[name] for name in columns))


def json_rows(columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> str:
    """The parameter of `rows_of_json`: the rows (each its values in `columns`' order) as a JSON array of objects.

    Times are written with their offset; a naive one is taken as UTC, as the store reads them
    (`sync.models.UTCDateTime`).
    """
    return orjson.dumps([dict(zip(columns, row, strict=True)) for row in rows], option=orjson.OPT_NAIVE_UTC).decode()
