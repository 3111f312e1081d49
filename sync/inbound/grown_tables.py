"""Planner statistics of the mirrored tables, refreshed while a reconcile fills them (PostgreSQL).

A big site's first reconcile grows `tickets`, `comments` and `status_history` from nothing to hundreds of
thousands of rows in one run. PostgreSQL plans with the statistics of the last ANALYZE, and a connection
keeps its plans of the foreign-key checks: planned while `tickets` was nearly empty, each history row's
check read the whole table, so every page cost more than the one before (240 ms of database CPU a page at
100,000 tickets against 15 when analysed, bench/reconcile_bench.py). Autovacuum analyses a table that grew
by a tenth, once it wakes; where it is off or slower than the run, this does the same: ANALYZE once the run
has written 100 rows, then each time its writes have doubled (a dozen times in 100,000 tickets).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.runtime import Runtime

log = logging.getLogger(__name__)

TABLES = ("tickets", "comments", "status_history", "ticket_participants")
FIRST = 100


class GrowthAnalyzer:
    """Counts a run's written rows and analyses the mirrored tables each time the count doubles."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._enabled = runtime.engine.dialect.name == "postgresql"
        self.written = 0
        self._next = FIRST
        self.analysed = 0

    def wrote(self, rows: int) -> None:
        """Count `rows` more written; ANALYZE when the run's total reached the next threshold."""
        self.written += rows
        if not self._enabled or self.written < self._next:
            return
        self._next = self.written * 2
        # Its own connection, outside any transaction: ANALYZE takes a lock that lets writes go on.
        with self._runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"ANALYZE {', '.join(TABLES)}")
        self.analysed += 1
        log.info("reconcile analysed %s after writing %d rows", ", ".join(TABLES), self.written)
