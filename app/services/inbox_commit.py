"""Group commit for the webhook inbox: concurrent deliveries share one INSERT and one durable commit.

A receiver must not answer 2xx before its delivery is durable, and one commit per delivery is what
limited ingest (bench/ingest.py): every request paid a pool check-out, an INSERT, a COMMIT and its
WAL flush. Here each request hands its row to the process's `InboxCommitter` and blocks; the request
that finds no flush running becomes the leader, lets arrivals gather for at most `max_wait` seconds
(only while traffic is concurrent: a lone delivery is written at once), writes everything queued in
one multi-row `INSERT … ON CONFLICT (delivery_id) DO NOTHING RETURNING`, commits, wakes the callers of
that batch, and hands the lead to the first request queued meanwhile, whose batch comes next. Every
caller returns only after the commit that holds its row (or raises that commit's error), so "durable
before 2xx" holds.

Measured and kept simple (bench/ingest.py, 2 cores): with 64 deliveries in flight over two web
processes a commit holds 22–29 rows, with 16 about 7 (`companion_inbox_commit_rows` in /metrics). Two
or three flushes in flight per process made batches a half or a third as large, cost more CPU per
delivery and gave no more throughput. On PostgreSQL the batch goes as one JSON document
(`_recordset_upsert`); `unnest` of one array per column cost more than the VALUES list it replaced, as
the arrays' text form escapes every quote of every JSON payload.

A delivery id already stored (or twice in one batch) comes back as None: `200 duplicate`, exactly as
a unique violation answered before. Rows go in in delivery-id order, so the batches of two processes
that share ids wait for each other in one order and never deadlock. If the shared INSERT fails on a
bad row, the batch is written again row by row, so one bad delivery never fails the others.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Integer, bindparam, column, func, insert, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DataError, IntegrityError

from sync.db import insert_skipping_duplicates
from sync.models import InboundEvent, utcnow
from sync.telemetry import INBOX_COMMIT_ROWS

log = logging.getLogger(__name__)

# Rows per shared INSERT: bounds the statement size (payloads are up to 1 MiB each) and the wait.
MAX_BATCH = 64
# How long a leader lets concurrent deliveries gather: small next to a delivery's own latency.
MAX_WAIT_SECONDS = 0.002


@dataclass(eq=False)
class _Entry:
    row: dict[str, Any]
    done: bool = False
    event_id: int | None = None  # None once done: the delivery id was already recorded
    error: BaseException | None = None
    others: list[_Entry] = field(default_factory=list)  # same delivery id, same batch: duplicates of this one
    wake: threading.Event = field(default_factory=threading.Event)


_COLUMNS = ("delivery_id", "webhook_event", "issue_key", "project_key", "event_timestamp", "payload", "state",
            "reason", "request_id")


def _recordset_upsert() -> Any:
    """PostgreSQL: `INSERT … SELECT … FROM json_to_recordset(<the batch as one JSON document>) ON CONFLICT …`.

    Its text is the same for every batch, so it is compiled and converted once and the server prepares it.
    A multi-row VALUES list differs with each batch size, and psycopg re-read its 9 placeholders a row
    in Python on every batch: about 50 µs of CPU a row, more than verifying and parsing the delivery.
    """
    table = InboundEvent.__table__
    source = func.json_to_recordset(bindparam("batch", type_=postgresql.JSON())) \
        .table_valued(*[column(name, table.c[name].type) for name in _COLUMNS]) \
        .render_derived(name="batch", with_types=True)
    rows = select(*[source.c[name] for name in _COLUMNS], bindparam("received_at", type_=table.c.received_at.type),
                  literal(0, Integer()))
    return postgresql.insert(InboundEvent).from_select([*_COLUMNS, "received_at", "attempts"], rows) \
        .on_conflict_do_nothing(index_elements=["delivery_id"]).returning(InboundEvent.id, InboundEvent.delivery_id)


def _values_upsert(engine: Engine) -> Any | None:
    """Other dialects: one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` (None: no such clause)."""
    upsert = insert_skipping_duplicates(engine.dialect.name, InboundEvent, ["delivery_id"])
    return None if upsert is None else upsert.returning(InboundEvent.id, InboundEvent.delivery_id)


class InboxCommitter:
    """Records inbox rows durably for many threads of one process, several rows per commit."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH, max_wait: float = MAX_WAIT_SECONDS,
                 on_commit: Callable[[list[dict[str, Any]]], object] | None = None) -> None:
        self._engine = engine
        # Called by the leader after each commit with the rows it inserted, before any of their callers
        # returns (the webhook receiver enqueues one inbox drain per batch instead of one per delivery).
        self._on_commit = on_commit
        self._max_batch, self._max_wait = max_batch, max_wait
        self._lock = threading.Lock()
        self._full = threading.Event()  # set when the queue holds a whole batch
        self._queue: list[_Entry] = []
        self._flushing = False
        self._last_batch = 0
        self._recordset = engine.dialect.name == "postgresql"
        self._statement = _recordset_upsert() if self._recordset else _values_upsert(engine)
        self.commits = 0  # commits made, for tests and the benchmark's notes
        self.rows = 0

    def record(self, row: dict[str, Any]) -> int | None:
        """Insert `row` and commit; its id, or None when its delivery id is already recorded.

        Raises the SQLAlchemy error of the commit that should have held it (the caller answers 503).
        """
        entry = _Entry(row)
        with self._lock:
            self._queue.append(entry)
            leads = not self._flushing
            self._flushing = True
            if len(self._queue) >= self._max_batch:
                self._full.set()  # a gathering leader need not wait any longer
        # Each caller sleeps on its own event and is woken once: when its batch is committed, or when the
        # leader before it hands it the lead (a shared condition woke every waiter after every batch).
        if not leads:
            entry.wake.wait()
        if not entry.done:
            self._lead(entry)
        if entry.error is not None:
            raise entry.error
        return entry.event_id

    def _lead(self, entry: _Entry) -> None:
        """Write the queue's first batch (`entry` is first in it), wake its callers, hand the lead on."""
        if self._max_wait > 0 and self._last_batch > 1:
            # Traffic is concurrent (the last batch had company): let this batch fill a little.
            with self._lock:
                if len(self._queue) < self._max_batch:
                    self._full.clear()
            self._full.wait(self._max_wait)
        with self._lock:
            batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
        try:
            self._write(batch)
        except BaseException as exc:  # _write settles every Exception itself; this is an exit or a kill
            for unsettled in batch:
                if unsettled.event_id is None and unsettled.error is None:
                    unsettled.error = exc  # never answered as a duplicate: it may not be stored
            raise
        finally:
            self._last_batch = len(batch)
            for done in batch:
                done.done = True
                if done is not entry:
                    done.wake.set()
            with self._lock:
                if self._queue:
                    self._queue[0].wake.set()  # arrived during this flush: it leads the next batch
                else:
                    self._flushing = False

    def _write(self, batch: list[_Entry]) -> None:
        firsts: dict[str, _Entry] = {}
        for entry in batch:
            first = firsts.setdefault(entry.row["delivery_id"], entry)
            if first is not entry:
                first.others.append(entry)
        # In delivery-id order: two processes' batches then lock shared ids in one order (no deadlock).
        unique = [firsts[delivery] for delivery in sorted(firsts)]
        try:
            self._insert(unique)
        except (IntegrityError, DataError) as exc:
            if len(unique) == 1:
                self._settle(unique[0], exc)
            else:
                for entry in unique:  # one bad row must not fail the others: each alone
                    try:
                        self._insert([entry])
                    except (IntegrityError, DataError) as alone:
                        self._settle(entry, alone)
        except Exception as exc:  # the database is away, or anything else: every row of the batch gets it
            for entry in unique:
                self._settle(entry, exc)

    def _insert(self, entries: list[_Entry]) -> None:
        if self._statement is None:  # a dialect without ON CONFLICT: one plain INSERT per row
            for entry in entries:
                try:
                    with self._engine.begin() as conn:
                        entry.event_id = conn.execute(insert(InboundEvent).returning(InboundEvent.id),
                                                      entry.row).scalar_one()
                except IntegrityError:
                    entry.event_id = None
                self._settle(entry, None)
            self._committed([entry.row for entry in entries if entry.event_id is not None])
            return
        rows = [entry.row for entry in entries]
        # The batch's rows as JSON (an InboxState is a str: its value), each row received at this commit.
        params: Any = {"batch": [{name: row.get(name) for name in _COLUMNS} for row in rows],
                       "received_at": utcnow()} if self._recordset else rows
        with self._engine.begin() as conn:
            ids = {delivery: event_id for event_id, delivery in conn.execute(self._statement, params)}
        self.commits += 1
        self.rows += len(entries)
        INBOX_COMMIT_ROWS.observe(len(entries))
        for entry in entries:
            entry.event_id = ids.get(entry.row["delivery_id"])
            self._settle(entry, None)
        self._committed([entry.row for entry in entries if entry.event_id is not None])

    def _committed(self, rows: list[dict[str, Any]]) -> None:
        if rows and self._on_commit is not None:
            try:
                self._on_commit(rows)
            except Exception:  # the rows are durable: their callers must still hear so (the sweeper enqueues)
                log.exception("after-commit hook of the inbox failed")

    @staticmethod
    def _settle(entry: _Entry, error: BaseException | None) -> None:
        entry.error = error
        for other in entry.others:
            other.event_id, other.error = None, error  # a duplicate of this delivery shares its commit's fate


_COMMITTERS: weakref.WeakKeyDictionary[Engine, InboxCommitter] = weakref.WeakKeyDictionary()
_COMMITTERS_LOCK = threading.Lock()


def committer_for(engine: Engine, on_commit: Callable[[list[dict[str, Any]]], object] | None = None) \
        -> InboxCommitter:
    """The one committer of this process for `engine` (made on first use, so after a pre-fork server forks)."""
    with _COMMITTERS_LOCK:
        committer = _COMMITTERS.get(engine)
        if committer is None:
            committer = _COMMITTERS[engine] = InboxCommitter(engine, on_commit=on_commit)
        return committer
