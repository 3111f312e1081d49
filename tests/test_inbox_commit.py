"""Group commit of the webhook inbox: every row durable when `record` returns, duplicates exact, fewer commits."""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.services.inbox_commit import InboxCommitter, committer_for
from app.webhooks import receive_delivery
from sync.db import make_engine
from sync.models import InboundEvent, InboxState
from sync.runtime import Runtime
from tests.conftest import TEST_WEBHOOK_SECRET, _empty_tables, make_settings
from tests.helpers import issue_payload, sign


@pytest.fixture
def engine(any_database_url: str) -> Iterator[Engine]:
    made = make_engine(any_database_url)
    yield made
    made.dispose()


def row(delivery: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"delivery_id": delivery, "webhook_event": "jira:issue_updated", "issue_key": "SUP-1",
                              "project_key": "SUP", "event_timestamp": 1, "payload": "{}",
                              "state": InboxState.PENDING, "reason": None}
    values.update(overrides)
    return values


def stored(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {d: i for d, i in conn.execute(select(InboundEvent.delivery_id, InboundEvent.id))}


def record_concurrently(committer: InboxCommitter, rows: list[dict[str, Any]], threads: int = 16) -> list[Any]:
    """`record` each row from `threads` threads at once; each result (id, None or the exception) in row order."""
    results: list[Any] = [None] * len(rows)
    start = threading.Barrier(threads)

    def work(k: int) -> None:
        start.wait()
        for i in range(k, len(rows), threads):
            try:
                results[i] = committer.record(rows[i])
                # What the caller sees as durable is durable: another connection reads it at once.
                if results[i] is not None:
                    assert rows[i]["delivery_id"] in stored(committer._engine)
            except Exception as exc:
                results[i] = exc

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def test_concurrent_deliveries_share_commits_and_each_gets_its_own_id(engine: Engine) -> None:
    committer = InboxCommitter(engine, max_wait=0.005)
    rows = [row(f"d-{i}") for i in range(400)]
    results = record_concurrently(committer, rows)
    ids = stored(engine)
    assert results == [ids[f"d-{i}"] for i in range(400)]
    assert committer.rows == 400
    assert committer.commits < 400  # shared: fewer commits than rows


def test_a_delivery_id_already_stored_or_twice_in_a_batch_is_a_duplicate(engine: Engine) -> None:
    committer = InboxCommitter(engine, max_wait=0.005)
    first = committer.record(row("known"))
    rows = [row("known")] + [row(f"twice-{i // 2}") for i in range(200)]
    results = record_concurrently(committer, rows)
    assert isinstance(first, int) and results[0] is None
    for i in range(100):
        pair = results[1 + 2 * i:3 + 2 * i]
        assert sorted(pair, key=lambda r: r is None) == [stored(engine)[f"twice-{i}"], None]  # one id, one None
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(InboundEvent)).scalar_one() == 101


def test_a_bad_row_fails_alone_and_the_rest_of_its_batch_is_stored(engine: Engine) -> None:
    committer = InboxCommitter(engine, max_wait=0.005)
    rows = [row(f"ok-{i}") for i in range(60)]
    rows[30] = row("bad", webhook_event=None)  # NOT NULL: the database refuses this one row
    results = record_concurrently(committer, rows, threads=20)
    assert isinstance(results[30], Exception)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 30)
    assert set(stored(engine)) == {f"ok-{i}" for i in range(60) if i != 30}


def test_a_lone_delivery_is_written_at_once(engine: Engine) -> None:
    committer = InboxCommitter(engine, max_wait=10.0)  # a wait this long would show
    assert committer.record(row("alone")) == stored(engine)["alone"]
    assert committer.record(row("alone")) is None
    assert committer.commits == 2


@pytest.mark.parametrize("payload", ['{"q": "a \\"quoted\\" \\\\ back\\\\slash"}', '{"ru": "Привет", "emoji": "🙂"}',
                                     '{"nul": "\\u0000", "tab": "\\t"}', "{}" + " " * 70_000])
def test_every_column_is_stored_exactly_as_given(engine: Engine, payload: str) -> None:
    """The batch travels as one JSON document on PostgreSQL: nothing in a payload may change on the way."""
    committer = InboxCommitter(engine)
    given = [row("exact-1", payload=payload, request_id="rid-1"),
             row("exact-2", payload=payload, issue_key=None, project_key=None, event_timestamp=None, reason="why",
                 state=InboxState.IGNORED)]
    results = record_concurrently(committer, given, threads=2)
    assert all(isinstance(r, int) for r in results), results
    with engine.connect() as conn:
        found = {r.delivery_id: r for r in conn.execute(select(InboundEvent).order_by(InboundEvent.delivery_id))}
    for wanted in given:
        stored_row = found[wanted["delivery_id"]]
        for name, value in wanted.items():
            assert getattr(stored_row, name) == value, name
        assert stored_row.attempts == 0 and stored_row.received_at is not None


def test_a_failed_commit_fails_every_row_of_its_batch_and_stores_nothing(engine: Engine) -> None:
    """The batch's one event wakes its callers only once each knows the outcome: here every one the error."""
    refuse = {"postgresql": ["CREATE FUNCTION refuse_inbox() RETURNS trigger LANGUAGE plpgsql AS "
                             "$$ BEGIN RAISE EXCEPTION 'inbox refused'; END $$",
                             "CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbound_events "
                             "FOR EACH ROW EXECUTE FUNCTION refuse_inbox()"],
              "sqlite": ["CREATE TRIGGER refuse_inbox BEFORE INSERT ON inbound_events "
                         "BEGIN SELECT RAISE(ABORT, 'inbox refused'); END"]}[engine.dialect.name]
    with engine.begin() as conn:
        for statement in refuse:
            conn.exec_driver_sql(statement)
    try:
        committer = InboxCommitter(engine, max_wait=0.005)
        results = record_concurrently(committer, [row(f"refused-{i}") for i in range(40)], threads=8)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_inbox" + (" ON inbound_events" if engine.dialect.name ==
                                                                "postgresql" else ""))
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP FUNCTION refuse_inbox()")
    assert all(isinstance(result, SQLAlchemyError) and "inbox refused" in str(result) for result in results)
    assert stored(engine) == {}
    assert committer.commits == 0


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    _empty_tables(postgres_url)
    made = make_engine(postgres_url, connect_args={"application_name": "inbox-commit-test"})
    yield made
    made.dispose()


def _backends(engine: Engine) -> list[int]:
    """The server processes of the connections the committer tests opened (`inbox-commit-test`)."""
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = "
                                      "'inbox-commit-test' AND pid <> pg_backend_pid()")).scalars())


def test_a_lost_connection_is_replaced_and_the_batch_still_committed(postgres_engine: Engine,
                                                                     postgres_url: str) -> None:
    """The batches' connection is kept between batches; one the server dropped costs no delivery a 503."""
    committer = InboxCommitter(postgres_engine)
    first = committer.record(row("before-restart"))
    observer = make_engine(postgres_url)
    try:
        killed = _backends(observer)
        assert killed
        with observer.connect() as conn:  # as a database restart would: the sessions of the engine end
            for pid in killed:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert _wait_for(lambda: not set(killed) & set(_backends(observer)))
        second = committer.record(row("after-restart"))
    finally:
        observer.dispose()
    assert isinstance(second, int)
    assert stored(postgres_engine) == {"before-restart": first, "after-restart": second}


def test_disposing_the_engine_closes_the_kept_connection(postgres_engine: Engine, postgres_url: str) -> None:
    """The kept connection is no pool's: it would outlive its engine (and its test) if nothing closed it."""
    committer = InboxCommitter(postgres_engine)
    assert isinstance(committer.record(row("kept")), int)
    observer = make_engine(postgres_url)
    try:
        assert _backends(observer)
        postgres_engine.dispose()
        assert _wait_for(lambda: not _backends(observer)), _backends(observer)
    finally:
        observer.dispose()


def _wait_for(condition: Any, seconds: float = 30) -> bool:
    """A server process ends a moment after its client closes the link: wait until it has."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class _DroppableRuntime(Runtime):
    """A real Runtime the `close_runtimes` fixture does not keep (it keeps each Runtime.__init__ makes, to
    close it): the test's reference is then the last one."""


def _kept_backends(url: str) -> list[int]:
    """The server processes whose last statement was a batch of the inbox (the committer's kept connection)."""
    observer = make_engine(url)
    try:
        with observer.connect() as conn:
            return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND query LIKE '%json_to_recordset%' AND pid <> pg_backend_pid()"))
                        .scalars())
    finally:
        observer.dispose()


def test_an_engine_nobody_else_uses_is_collected_with_its_committer_and_kept_connection(
        tmp_path: Path, any_database_url: str, redis_url: str, redis_client: Any) -> None:
    """A process's committer must not keep its engine alive (nor its kept connection open) once the engine's
    runtime is gone: the receiver's after-commit hook refers to that runtime, the committer to its engine."""
    runtime = _DroppableRuntime(make_settings(tmp_path, any_database_url, redis_url))
    body = json.dumps(issue_payload()).encode()
    assert receive_delivery(runtime, body, sign(body, TEST_WEBHOOK_SECRET), "dropped-1", lambda: "")[0] == 202
    engine, committer = weakref.ref(runtime.engine), weakref.ref(committer_for(runtime.engine))
    on_postgres = runtime.engine.dialect.name == "postgresql"
    kept = _kept_backends(any_database_url) if on_postgres else []
    assert kept or not on_postgres
    runtime.redis.close()  # not the subject here: a Redis client left to the collector warns of its socket
    del runtime
    gc.collect()
    assert (engine(), committer()) == (None, None)
    if on_postgres:  # closed by its client, not left open (nor to a warning at the next collection)
        assert _wait_for(lambda: not set(kept) & set(_kept_backends(any_database_url)))
