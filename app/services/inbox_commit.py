"""Group commit for the webhook inbox: concurrent deliveries share one INSERT and one durable commit.

A receiver must not answer 2xx before its delivery is durable, and one commit per delivery is what
limited ingest (bench/ingest.py): every request paid a pool check-out, an INSERT, a COMMIT and its
WAL flush. Here each request adds its row to the process's open batch and blocks; the first request
of a batch is its leader: once no flush runs (at once, or when the batch before it is written), it
lets arrivals gather for at most `max_wait` seconds (only while traffic is concurrent: a lone
delivery is written at once), closes the batch, writes it in one `INSERT … ON CONFLICT (delivery_id)
DO NOTHING RETURNING`, commits, wakes the whole batch through its one event, and hands the turn to
the leader of the next batch. Every caller returns only after the commit that holds its row (or
raises that commit's error), so "durable before 2xx" holds.

Measured and kept simple (bench/ingest.py, 2 cores): with 64 deliveries in flight over two web
processes a commit holds 22–29 rows, with 16 about 7 (`companion_inbox_commit_rows` in /metrics). Two
or three flushes in flight per process made batches a half or a third as large, cost more CPU per
delivery and gave no more throughput. On PostgreSQL the batch goes as one JSON document
(`_recordset_sql`); `unnest` of one array per column cost more than the VALUES list it replaced, as
the arrays' text form escapes every quote of every JSON payload.

A delivery id already stored (or twice in one batch) comes back as None: `200 duplicate`, exactly as
a unique violation answered before. Rows go in in delivery-id order, so the batches of two processes
that share ids wait for each other in one order and never deadlock. If the shared INSERT fails on a
bad row, the batch is written again row by row, so one bad delivery never fails the others.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import Connection, Engine, Integer, bindparam, column, event, func, insert, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from sync.db import insert_skipping_duplicates
from sync.models import InboundEvent, utcnow
from sync.telemetry import INBOX_COMMIT_ROWS

log = logging.getLogger(__name__)

# Rows per shared INSERT: bounds the statement size (payloads are up to 1 MiB each) and the wait.
MAX_BATCH = 64
# How long a leader lets concurrent deliveries gather: small next to a delivery's own latency.
MAX_WAIT_SECONDS = 0.002

_COLUMNS = ("delivery_id", "webhook_event", "issue_key", "project_key", "event_timestamp", "payload", "state",
            "reason", "request_id")


class _Batch:
    """The rows of one commit, their outcomes, and the events its callers wait on."""

    __slots__ = ("closed", "done", "full", "results", "rows", "turn")

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        # Per row, in arrival order: its id, None (a duplicate), or the error its caller raises.
        self.results: list[int | BaseException | None] = []
        self.closed = False  # taken by its leader: later arrivals open the next batch
        self.done = threading.Event()  # set once every result is in: all callers wake on this one event
        self.turn = threading.Event()  # set when the flush before it ends: its leader may write it
        self.full = threading.Event()  # set when it holds a whole batch: its leader need not gather longer


def _recordset_sql() -> str:
    """PostgreSQL: `INSERT … SELECT … FROM json_to_recordset(<the batch as one JSON document>) ON CONFLICT …`.

    Compiled once to the driver's SQL: executed as it is on a held connection, the server prepares it
    and each batch costs one round trip and no statement building. A multi-row VALUES list differs with
    each batch size, and psycopg re-read its 9 placeholders a row in Python on every batch: about 50 µs
    of CPU a row, more than verifying and parsing the delivery.
    """
    table = InboundEvent.__table__
    source = func.json_to_recordset(bindparam("batch", type_=postgresql.JSON())) \
        .table_valued(*[column(name, table.c[name].type) for name in _COLUMNS]) \
        .render_derived(name="batch", with_types=True)
    rows = select(*[source.c[name] for name in _COLUMNS], bindparam("received_at", type_=table.c.received_at.type),
                  literal_column("0", Integer()))
    statement = postgresql.insert(InboundEvent).from_select([*_COLUMNS, "received_at", "attempts"], rows) \
        .on_conflict_do_nothing(index_elements=["delivery_id"]).returning(InboundEvent.id, InboundEvent.delivery_id)
    return str(statement.compile(dialect=postgresql.psycopg.dialect()))  # type: ignore[attr-defined]


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
        self._waiting: deque[_Batch] = deque()  # batches whose turn has not come, oldest first
        self._flushing = False
        self._last_batch = 0
        self._recordset = _recordset_sql() if engine.dialect.name == "postgresql" else None
        self._statement = None if self._recordset else _values_upsert(engine)
        # PostgreSQL: one connection in autocommit, held from batch to batch (see `_held_connection`).
        self._held: Connection | None = None
        self._closing: weakref.finalize[..., None] | None = None
        self._pid = os.getpid()
        # The engine keeps this listener, so its committer lives as long as it does (`committer_for`).
        event.listen(engine, "engine_disposed", self._release)
        self.commits = 0  # commits made, for tests and the benchmark's notes
        self.rows = 0

    def record(self, row: dict[str, Any]) -> int | None:
        """Insert `row` and commit; its id, or None when its delivery id is already recorded.

        Raises the SQLAlchemy error of the commit that should have held it (the caller answers 503).
        """
        with self._lock:
            batch = self._waiting[-1] if self._waiting else None
            if batch is None or batch.closed or len(batch.rows) >= self._max_batch:
                batch = _Batch()
                self._waiting.append(batch)
            index = len(batch.rows)
            batch.rows.append(row)
            if len(batch.rows) >= self._max_batch:
                batch.full.set()  # a gathering leader need not wait any longer
            if index == 0 and not self._flushing:  # no flush runs: this batch's turn is now
                self._flushing = True
                batch.turn.set()
        if index == 0:
            self._lead(batch)
        else:
            batch.done.wait()
        result = batch.results[index]
        if isinstance(result, BaseException):
            raise result
        return result

    def _lead(self, batch: _Batch) -> None:
        """Write `batch` (this caller is its first row), wake its callers, hand the turn to the next batch."""
        try:
            batch.turn.wait()  # set at once, or by the end of the flush before it
            if self._max_wait > 0 and self._last_batch > 1:
                # Traffic is concurrent (the last batch had company): let this batch fill a little.
                batch.full.wait(self._max_wait)
            with self._lock:
                batch.closed = True
                self._waiting.remove(batch)  # the oldest waiting one: its turn has come
            batch.results = self._write(batch.rows)
        except BaseException as exc:  # _write settles every Exception itself: this is an exit or a kill
            with self._lock:
                if not batch.closed:  # killed while waiting: later batches must not wait for this one
                    batch.closed = True
                    self._waiting.remove(batch)
                    if not batch.turn.is_set():  # the running flush will hand its turn to the next one
                        batch.results = [exc] * len(batch.rows)
                        batch.done.set()
                        raise
            batch.results = [exc] * len(batch.rows)  # never answered as a duplicate: it may not be stored
            raise
        finally:
            if batch.closed and not batch.done.is_set():
                self._last_batch = len(batch.rows)
                batch.done.set()  # every caller of the batch wakes on this one event
                with self._lock:
                    if self._waiting:
                        self._waiting[0].turn.set()  # filled during this flush: its leader writes it next
                    else:
                        self._flushing = False

    def _write(self, rows: list[dict[str, Any]]) -> list[int | BaseException | None]:
        """Store `rows` (one commit when all go in); the result of each, in order."""
        firsts: dict[str, int] = {}
        for index, row in enumerate(rows):
            firsts.setdefault(row["delivery_id"], index)  # a later one with the same id is a duplicate
        # In delivery-id order: two processes' batches then lock shared ids in one order (no deadlock).
        unique = [rows[firsts[delivery]] for delivery in sorted(firsts)]
        outcome: dict[str, int | BaseException | None]
        try:
            outcome = dict(self._insert(unique))
        except (IntegrityError, DataError) as exc:
            if len(unique) == 1:
                outcome = {unique[0]["delivery_id"]: exc}
            else:
                outcome = {}
                for row in unique:  # one bad row must not fail the others: each alone
                    try:
                        outcome.update(self._insert([row]))
                    except (IntegrityError, DataError) as alone:
                        outcome[row["delivery_id"]] = alone
        except Exception as exc:  # the database is away, or anything else: every row of the batch gets it
            outcome = {row["delivery_id"]: exc for row in unique}
        results: list[int | BaseException | None] = []
        for index, row in enumerate(rows):
            result = outcome.get(row["delivery_id"])
            # A duplicate in the batch shares its first's fate: that first's error, else None (not its id).
            results.append(result if firsts[row["delivery_id"]] == index or isinstance(result, BaseException)
                           else None)
        return results

    def _insert(self, rows: list[dict[str, Any]]) -> dict[str, int | None]:
        """Insert and commit `rows` (distinct delivery ids); the id of each, None for one already stored."""
        if self._statement is None and not self._recordset:  # a dialect without ON CONFLICT: a row at a time
            ids: dict[str, int | None] = {}
            for row in rows:
                try:
                    with self._engine.begin() as conn:
                        ids[row["delivery_id"]] = conn.execute(insert(InboundEvent).returning(InboundEvent.id),
                                                               row).scalar_one()
                except IntegrityError:
                    ids[row["delivery_id"]] = None
            self._committed([row for row in rows if ids[row["delivery_id"]] is not None])
            return ids
        if self._recordset:
            inserted, announce = self._insert_recordset(rows)
        else:
            with self._engine.begin() as conn:
                inserted = {delivery: event_id for event_id, delivery in conn.execute(self._statement, rows)}
            announce = [row for row in rows if row["delivery_id"] in inserted]
        self.commits += 1
        self.rows += len(rows)
        INBOX_COMMIT_ROWS.observe(len(rows))
        self._committed(announce)
        return {row["delivery_id"]: inserted.get(row["delivery_id"]) for row in rows}

    def _insert_recordset(self, rows: list[dict[str, Any]]) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """PostgreSQL: the batch as one autocommitted statement on the held connection (one round trip).

        In autocommit the statement is its own transaction, and the driver returns only after the server's
        ReadyForQuery, which follows the commit and its WAL flush: durable when this returns. The ids of
        the rows inserted, and the rows to announce to `on_commit`.
        """
        assert self._recordset is not None
        # The rows as JSON (an InboxState is a str: its value; a missing column is NULL), each received now.
        params = {"batch": Json(rows), "received_at": utcnow()}
        try:
            inserted = self._execute(params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The held connection died (the server restarted, an idle link was cut): once more on a new one.
            # The first try may have committed before the link broke: its rows then come back as already
            # stored (ON CONFLICT DO NOTHING), durable all the same, and are announced with the others.
            log.warning("inbox connection lost; the batch is written again on a new one: %s", exc.orig)
            self._release()
            return self._execute(params), rows
        return inserted, [row for row in rows if row["delivery_id"] in inserted]

    def _execute(self, params: dict[str, Any]) -> dict[str, int]:
        assert self._recordset is not None
        if self._held is None:
            self._held = self._held_connection()
        try:
            # No commit() after it: in AUTOCOMMIT the server committed the statement before answering.
            result = self._held.exec_driver_sql(self._recordset, params).all()
            return {delivery: event_id for event_id, delivery in result}
        except BaseException as exc:
            if not isinstance(exc, DBAPIError):  # interrupted mid-statement: the connection's state is unknown
                self._release()
            raise

    def _held_connection(self) -> Connection:
        """A connection for the batches from now on (checked out once, pinged then by the pool, kept).

        Only the flushing leader uses it, one batch at a time. Keeping it saves each batch the pool's
        check-out, its liveness ping and the BEGIN and COMMIT round trips; a connection found dead is
        replaced and the batch written again (`_insert_recordset`), as the ping would have done.

        It is detached from the pool: SQLAlchemy's own finalizer of a checked-out connection refers to the
        pool, whose first-connect hook refers to the engine, so a connection kept checked out would keep
        the engine alive for good. Detached, it is this committer's alone: closed by `_release`, or when
        the committer is collected with its engine (`_close_link`).
        """
        held = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        held.detach()
        self._closing = weakref.finalize(self, _close_link, held.connection.dbapi_connection, self._pid)
        return held

    def _release(self, *_engine: Any) -> None:
        """Close the held connection (lost, interrupted, or its engine disposed)."""
        held, self._held = self._held, None
        closing, self._closing = self._closing, None
        if held is not None and os.getpid() == self._pid:  # a forked child must not close its parent's link
            try:
                held.invalidate()  # no rollback tried on a link that may be broken: it is closed below
                held.close()
            except Exception:  # already broken: nothing left to close
                log.debug("closing the inbox connection failed", exc_info=True)
        if closing is not None:
            closing()

    def _committed(self, rows: list[dict[str, Any]]) -> None:
        if rows and self._on_commit is not None:
            try:
                self._on_commit(rows)
            except Exception:  # the rows are durable: their callers must still hear so (the sweeper enqueues)
                log.exception("after-commit hook of the inbox failed")


def _close_link(link: Any, pid: int) -> None:
    """Close the driver connection a committer kept (in the process that opened it: a fork's is its parent's)."""
    if link is not None and os.getpid() == pid:
        try:
            link.close()
        except Exception:  # already broken: nothing left to close
            log.debug("closing the inbox connection failed", exc_info=True)


# Each engine's committer, found without keeping either alive: the engine keeps its committer (through its
# `engine_disposed` listener), and the committer refers to its engine (itself, its kept connection, the
# after-commit hook's runtime) from within that pair only. An engine nobody else holds is then collected
# with its committer, and its kept connection closed.
_COMMITTERS: weakref.WeakKeyDictionary[Engine, weakref.ref[InboxCommitter]] = weakref.WeakKeyDictionary()
_COMMITTERS_LOCK = threading.Lock()


def committer_for(engine: Engine, on_commit: Callable[[list[dict[str, Any]]], object] | None = None) \
        -> InboxCommitter:
    """The one committer of this process for `engine` (made on first use, so after a pre-fork server forks)."""
    with _COMMITTERS_LOCK:
        known = _COMMITTERS.get(engine)
        committer = known() if known is not None else None
        if committer is None:
            committer = InboxCommitter(engine, on_commit=on_commit)
            _COMMITTERS[engine] = weakref.ref(committer)
        return committer
