"""Small SQL helpers of the batch reads and writes: set membership and INSERT … ON CONFLICT, per dialect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam
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
