"""EXPLAIN of statements as PostgreSQL plans the driver's prepared statements: for any parameter value."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from psycopg.sql import Literal
from sqlalchemy.engine import Engine

_NAMED = re.compile(r"%\((\w+)\)s")


def _placeholder(names: list[str], match: re.Match[str]) -> str:
    return f"${names.index(match.group(1)) + 1}"


def generic_plans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    """The generic plan of each (statement, parameters) the driver ran (psycopg's named placeholders).

    psycopg prepares a statement once it has run a few times, and PostgreSQL may then plan it for any value of
    its parameters: a partial index serves such a plan only when the query spells its condition out.
    """
    plans = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        driver = conn.connection.driver_connection
        for number, (statement, parameters) in enumerate(statements):
            names = _NAMED.findall(statement)
            conn.exec_driver_sql(f"PREPARE q{number} AS {_NAMED.sub(partial(_placeholder, names), statement)}")
            arguments = ", ".join(Literal(parameters[name]).as_string(driver) for name in names)
            explained = f"EXPLAIN EXECUTE q{number}({arguments})" if names else f"EXPLAIN EXECUTE q{number}"
            plans.append("\n".join(r[0] for r in conn.exec_driver_sql(explained)))
    return plans
