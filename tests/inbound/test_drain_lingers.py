"""A drain run by a worker goes on under steady traffic: a row committed meanwhile is taken by it, or by
the job its commit queued; it hands its worker back when asked; a batch that dies leaves its rows pending
for the next drain, which applies each once (SQLite + PG)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sync.inbound import drain as drain_module
from sync.jobs import drain_inbox, inbox_pacing, request_inbox_drain
from sync.models import InboundEvent, StatusHistory, Ticket
from sync.queues import hand_back, queue
from tests.conftest import make_settings
from tests.helpers import drain, issue_payload
from tests.inbound.test_drain_batch import T0, enqueue


@pytest.fixture
def runtime(tmp_path: Path, any_database_url: str, redis_url: str, redis_client) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(make_settings(tmp_path, any_database_url, redis_url), {"TESTING": True})
    yield app.extensions["companion"]
    app.extensions["companion"].close()


def issues(first: int, last: int) -> list[dict[str, Any]]:
    return [issue_payload(f"SUP-{n}", jira_id=str(n), updated=T0) for n in range(first, last + 1)]


def by_state(runtime: Any) -> dict[str, int]:
    with runtime.sessions() as db:
        return dict(db.execute(select(InboundEvent.state, func.count()).group_by(InboundEvent.state)).all())


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def drain_in_thread(runtime: Any, stop: threading.Event, result: dict[str, int]) -> threading.Thread:
    """`drain_inbox` as a worker runs it: with a hand-back check (set in the thread's own context)."""
    def run() -> None:
        hand_back.set(stop.is_set)
        result.update(drain_inbox(runtime))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_row_committed_while_a_drain_waits_is_applied_by_it_and_a_drain_is_queued_besides(
        runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox_pacing, "LINGER_IDLE_SECONDS", 60.0)  # only the test ends this drain
    enqueue(runtime, *issues(1, inbox_pacing.LINGER_MIN_ROWS + 5))
    stop, result = threading.Event(), {}
    thread = drain_in_thread(runtime, stop, result)
    try:
        wait_until(lambda: by_state(runtime) == {"applied": inbox_pacing.LINGER_MIN_ROWS + 5})
        assert thread.is_alive()  # waiting for more
        enqueue(runtime, *issues(100, 100))
        assert request_inbox_drain(runtime.redis)
        # The running drain cleared the pending flag when it started, so this commit queued a new job:
        # had the wake-up been lost, that job would apply the row.
        assert queue("inbound", runtime.redis).count == 1
        wait_until(lambda: by_state(runtime) == {"applied": inbox_pacing.LINGER_MIN_ROWS + 6})
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert result == {"applied": inbox_pacing.LINGER_MIN_ROWS + 6}  # the late row too, by the same drain


def test_a_drain_asked_to_hand_back_returns_after_its_batch_and_queues_the_rest(runtime: Any) -> None:
    enqueue(runtime, *issues(1, 25))
    token = hand_back.set(lambda: True)  # e.g. SIGTERM, or an outbound job waiting for this worker
    try:
        assert drain_inbox(runtime, limit=10) == {"applied": 10}
    finally:
        hand_back.reset(token)
    assert by_state(runtime) == {"applied": 10, "pending": 15}
    assert queue("inbound", runtime.redis).count == 1  # the backlog goes on in a fresh job
    assert drain(runtime) == {"applied": 15}


def test_a_drain_that_dies_mid_batch_leaves_its_rows_pending_and_the_next_applies_each_once(
        runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    enqueue(runtime, *issues(1, 12))
    real = drain_module.apply_together

    def apply_then_die(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        raise SystemExit("killed before the commit")  # what a kill does: the transaction never commits

    monkeypatch.setattr(drain_module, "apply_together", apply_then_die)
    with pytest.raises(SystemExit):
        drain(runtime)
    monkeypatch.setattr(drain_module, "apply_together", real)
    assert by_state(runtime) == {"pending": 12}
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0
    assert drain(runtime) == {"applied": 12}
    with runtime.sessions() as db:
        assert set(db.scalars(select(InboundEvent.attempts))) == {1}  # the dead attempt left no trace
        assert db.scalar(select(func.count()).select_from(Ticket)) == 12
        assert db.scalar(select(func.count()).select_from(StatusHistory)) == 12


@pytest.mark.parametrize(("seen_before", "rows", "asked_back", "published", "expected"), [
    (0, 200, False, False, True),    # a full batch: a backlog, straight on
    (0, 3, False, True, False),      # few rows seen: a quiet inbox, no lingering even when woken
    (40, 5, True, True, False),      # the worker wants its process back
    (40, 5, False, True, True),      # steady traffic and a commit since: the next batch
])
def test_the_pacer_decides_after_each_batch(redis_client, seen_before: int, rows: int, asked_back: bool,  # type: ignore[no-untyped-def]
                                            published: bool, expected: bool) -> None:
    pacer = inbox_pacing.Pacer(redis_client, lambda: asked_back)
    try:
        pacer.seen = seen_before
        if published:
            assert request_inbox_drain(redis_client)
        assert pacer.another(rows, 200) is expected
    finally:
        pacer.close()


def test_every_drain_of_the_install_passes_one_gate_before_a_batch(redis_client) -> None:  # type: ignore[no-untyped-def]
    pacer = inbox_pacing.Pacer(redis_client, lambda: False)
    try:
        pacer.seen = inbox_pacing.LINGER_MIN_ROWS
        assert request_inbox_drain(redis_client)
        assert pacer.another(5, 200)
        # Another worker's drain woken now waits until this key expires: fewer, larger batches.
        assert 0 < redis_client.pttl(inbox_pacing.BATCH_GATE_KEY) <= inbox_pacing.MIN_SPACING_SECONDS * 1000
    finally:
        pacer.close()
