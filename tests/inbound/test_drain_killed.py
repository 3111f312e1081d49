"""A real `inbound` worker SIGKILLed while it drains: its uncommitted batch stays pending, the sweeper
asks for a drain, and that drain applies every row exactly once (SQLite + PG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sync.jobs import request_inbox_drain, sweep
from sync.models import InboundEvent, Ticket
from sync.worker import make_worker
from tests.conftest import make_settings
from tests.inbound.test_drain_batch import enqueue
from tests.inbound.test_drain_lingers import by_state, issues
from tests.ops.procs import kill, process_env, start, wait_until

ROWS = 3000  # many batches: the kill lands after the first commit and before the last


def test_a_worker_killed_mid_drain_leaves_rows_pending_that_the_next_drain_applies_once(
        tmp_path: Path, any_database_url: str, redis_url: str, redis_client: Any) -> None:
    from app import create_app

    settings = make_settings(tmp_path, any_database_url, redis_url)
    runtime = create_app(settings, {"TESTING": True}).extensions["companion"]
    enqueue(runtime, *issues(1, ROWS))
    log = tmp_path / "worker.log"
    worker = start(["worker", "--queues", "inbound"], process_env(settings), log)
    try:
        assert request_inbox_drain(runtime.redis)
        assert wait_until(lambda: by_state(runtime).get("applied", 0) > 0 or worker.poll() is not None, 120), \
            log.read_text(errors="replace")
    finally:
        kill(worker)
    states = by_state(runtime)
    assert set(states) == {"applied", "pending"}, (states, log.read_text(errors="replace")[-2000:])
    with runtime.sessions() as db:  # committed batches only: no ticket of a batch that died
        assert db.scalar(select(func.count()).select_from(Ticket)) == states["applied"]

    assert sweep(runtime)["inbox_pending"] == states["pending"]  # the cron sweeper's tick asks for a drain
    make_worker(runtime, ["inbound"], inline=True, connection=runtime.redis).work(burst=True)

    assert by_state(runtime) == {"applied": ROWS}
    with runtime.sessions() as db:
        assert set(db.scalars(select(InboundEvent.attempts))) == {1}  # none applied twice, none half-applied
        assert db.scalar(select(func.count()).select_from(Ticket)) == ROWS
    runtime.close()
