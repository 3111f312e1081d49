"""Under a backlog a drain claims and parses its next batch while the current one is written (PostgreSQL), and
a batch claimed ahead that the drain does not apply goes back to pending untouched (SQLite + PG)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sync.inbound.prefetch import NextBatch
from sync.jobs import drain_inbox
from sync.models import InboundEvent
from sync.queues import hand_back
from tests.conftest import make_settings
from tests.helpers import drain
from tests.inbound.test_drain_batch import enqueue
from tests.inbound.test_drain_lingers import by_state, issues


@pytest.fixture
def runtime(tmp_path: Path, any_database_url: str, redis_url: str, redis_client) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from app import create_app

    app = create_app(make_settings(tmp_path, any_database_url, redis_url), {"TESTING": True})
    yield app.extensions["companion"]
    app.extensions["companion"].close()


def attempts(runtime: Any) -> dict[int, int]:
    with runtime.sessions() as db:
        return dict(db.execute(select(InboundEvent.id, InboundEvent.attempts)).all())


def test_a_backlog_is_applied_once_each_with_the_next_batch_claimed_before_the_last_commit(
        runtime: Any, caplog: pytest.LogCaptureFixture) -> None:
    enqueue(runtime, *issues(1, 95))
    with caplog.at_level(logging.INFO, logger="sync.jobs.inbox"):
        assert drain_inbox(runtime, limit=20) == {"applied": 95}
    assert set(attempts(runtime).values()) == {1}
    batches = [r.inbox_batch for r in caplog.records if hasattr(r, "inbox_batch")]
    assert sorted(i for b in batches for i in b["ids"]) == sorted(attempts(runtime))  # each row in one batch
    overlapped = [later["claimed"] < earlier["committed"] for earlier, later in itertools.pairwise(batches)]
    if runtime.engine.dialect.name == "postgresql":
        assert all(overlapped), batches  # every full batch had its successor claimed while it was written
    else:
        assert not any(overlapped), batches  # one writer: each batch claimed when the one before committed


def test_a_batch_claimed_ahead_and_not_applied_goes_back_pending_with_no_attempt_counted(runtime: Any) -> None:
    enqueue(runtime, *issues(1, 25))
    token = hand_back.set(lambda: True)  # the worker wants its process back after this batch
    try:
        assert drain_inbox(runtime, limit=10) == {"applied": 10}
    finally:
        hand_back.reset(token)
    assert by_state(runtime) == {"applied": 10, "pending": 15}
    assert sorted(attempts(runtime).values()) == [0] * 15 + [1] * 10
    assert drain(runtime) == {"applied": 15}  # nothing left locked: the next drain takes them at once
    assert set(attempts(runtime).values()) == {1}


def test_closing_gives_back_the_batch_claimed_ahead(runtime: Any) -> None:
    enqueue(runtime, *issues(1, 6))
    batches = NextBatch(runtime, limit=3)
    first = batches.take()
    batches.ahead()
    batches.close()
    first.release()
    assert by_state(runtime) == {"pending": 6}
    assert set(attempts(runtime).values()) == {0}
    assert drain(runtime) == {"applied": 6}


def test_a_failed_claim_ahead_is_raised_when_its_batch_is_taken(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.inbound.prefetch as prefetch

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(prefetch, "claim_batch", broken)
    batches = NextBatch(runtime, limit=3)
    batches.ahead()  # on SQLite nothing is claimed ahead: taking claims now, and fails the same way
    with pytest.raises(ConnectionError, match="went away"):
        batches.take()
    batches.close()
