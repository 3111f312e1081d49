"""Three real `companion scheduler` processes: one leads; killed, another takes over; every tick runs once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from rq.cron import get_cron_job_ids
from rq.job import Job

from sync.scheduler import CATCH_UP_SECONDS, LEASE_SECONDS, POLL_SECONDS, current_leader
from tests.conftest import make_settings
from tests.ops.procs import kill, process_env, start, stop, wait_until

TICK = 2  # seconds: reconcile every two seconds (croniter's sixth field is seconds)


def _reconcile_ticks(redis_client) -> list[datetime]:  # type: ignore[no-untyped-def]
    # RQ's history of the jobs each cron job spawned: still there if something consumed the queue.
    jobs = Job.fetch_many(get_cron_job_ids("sync.jobs.reconcile_incremental", redis_client), connection=redis_client)
    return sorted(datetime.fromisoformat(job.meta["cron_tick"].replace("Z", "+00:00")) for job in jobs
                  if job is not None and job.func_name == "sync.jobs.reconcile_incremental")


def _leader_pid(redis_client) -> int | None:  # type: ignore[no-untyped-def]
    leader = current_leader(redis_client)
    return int(leader["pid"]) if leader else None


@pytest.mark.slow
def test_three_schedulers_one_reconcile_per_tick_before_and_after_the_leader_dies(
        tmp_path, database_url, redis_url, redis_client) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, database_url, redis_url)
    env = process_env(settings, COMPANION_SYNC_RECONCILE_CRON=f"* * * * * */{TICK}")
    schedulers = [start(["scheduler"], env, tmp_path / f"scheduler-{n}.log") for n in range(3)]
    try:
        first = wait_until(lambda: _leader_pid(redis_client), 30)
        assert first in [p.pid for p in schedulers], "no scheduler took the lease"
        # Enough ticks under the first leader (its first one, the catch-up, is left out below).
        assert wait_until(lambda: len(_reconcile_ticks(redis_client)) >= 5, 12 * TICK), "the leader is not ticking"
        killed_at = datetime.now().astimezone()
        kill(next(p for p in schedulers if p.pid == first))
        second = wait_until(lambda: (pid := _leader_pid(redis_client)) not in (None, first) and pid,
                            LEASE_SECONDS + 5 * POLL_SECONDS)
        assert second, f"no follower took over within {LEASE_SECONDS + 5 * POLL_SECONDS} s"
        took_over_at = datetime.now().astimezone()
        assert wait_until(lambda: len([t for t in _reconcile_ticks(redis_client)
                                       if t >= took_over_at + timedelta(seconds=2 * TICK)]) >= 3, 12 * TICK), \
            "the new leader is not ticking"
    finally:
        for process in schedulers:
            stop(process)
    assert current_leader(redis_client) is None, "a leader that stops cleanly gives the lease back"

    ticks = _reconcile_ticks(redis_client)
    doubled = [t for t, n in Counter(ticks).items() if n > 1]
    assert not doubled, f"ticks enqueued more than once: {doubled}"
    step = timedelta(seconds=TICK)
    # The first leader's first tick is its start-up catch-up (CATCH_UP_SECONDS back): leave it out.
    before = [t for t in ticks if t <= killed_at - step][1:]
    after = [t for t in ticks if t >= took_over_at + step]
    assert len(before) >= 3 and len(after) >= 3, (before, after)
    for run in (before, after):  # no tick skipped while a leader held the lease
        assert all(b - a == step for a, b in pairwise(run)), run
    # Across the handover: the first tick after the kill ran (late, once) unless the old leader had done
    # it; nothing older than the catch-up window ran twice, and the gap is bounded by the lease.
    handover = [t for t in ticks if killed_at - step < t < took_over_at + step]
    assert handover, "the missed tick was not caught up by the new leader"
    assert (after[0] - before[-1]).total_seconds() <= LEASE_SECONDS + CATCH_UP_SECONDS + 4 * TICK
