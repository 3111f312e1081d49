"""A drain job lost with its worker leaves the pending flag set for its five-minute expiry; the sweeper must
not wait that long before rows that have waited past a healthy pick-up get a drain (SQLite + PG)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from sync.jobs import DRAIN_PENDING_KEY, sweep
from sync.jobs.cron import STUCK_PENDING_SECONDS
from sync.models import InboundEvent, utcnow
from sync.queues import queue
from sync.worker import make_worker
from tests.conftest import make_settings
from tests.inbound.test_drain_batch import enqueue
from tests.inbound.test_drain_lingers import by_state, issues


def test_rows_left_behind_by_a_lost_drain_job_get_a_drain_at_the_next_sweep(
        tmp_path: Path, any_database_url: str, redis_url: str, redis_client: Any) -> None:
    from app import create_app

    settings = make_settings(tmp_path, any_database_url, redis_url)
    runtime = create_app(settings, {"TESTING": True}).extensions["companion"]
    inbound = queue("inbound", runtime.redis)
    enqueue(runtime, *issues(1, 3))
    # The job that set the flag was taken by a worker that died before the job cleared it.
    redis_client.set(DRAIN_PENDING_KEY, "1", ex=300)

    assert sweep(runtime)["inbox_pending"] == 3
    assert inbound.count == 0, "rows received just now: a drain asked for a moment ago may still be on its way"

    with runtime.sessions() as db, db.begin():
        db.execute(update(InboundEvent).values(received_at=utcnow() - timedelta(seconds=STUCK_PENDING_SECONDS + 5)))
    assert sweep(runtime)["inbox_pending"] == 3
    assert inbound.count == 1

    make_worker(runtime, ["inbound"], inline=True, connection=runtime.redis).work(burst=True)
    assert by_state(runtime) == {"applied": 3}
    runtime.close()
