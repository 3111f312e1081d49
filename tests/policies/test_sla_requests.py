"""Drains note the tickets they touched; one queued refresh job takes every ticket noted before it runs."""

from __future__ import annotations

from rq import Queue

from sync.jobs import refresh_touched_slas, request_sla_refresh
from sync.jobs.followups import SLA_PENDING_KEY, SLA_TOUCHED_KEY


def test_many_batches_queue_one_refresh_that_takes_all_their_tickets(runtime, redis_client) -> None:  # type: ignore[no-untyped-def]
    maintenance = Queue("maintenance", connection=redis_client)
    assert request_sla_refresh(runtime.redis, ["SUP-1", "SUP-2"])
    assert request_sla_refresh(runtime.redis, ["SUP-2", "SUP-3"])
    assert request_sla_refresh(runtime.redis, [])  # a batch of comments on unknown tickets: nothing to note
    assert [job.func_name for job in maintenance.jobs] == ["sync.jobs.refresh_touched_slas"]

    # None of these tickets is mirrored, so none is stale and JSM is not asked.
    assert refresh_touched_slas(runtime) == {"tickets": 3, "jsm_calls": 0}
    assert not redis_client.exists(SLA_TOUCHED_KEY) and not redis_client.exists(SLA_PENDING_KEY)
    assert request_sla_refresh(runtime.redis, ["SUP-4"])  # after the job started: a new one is queued
    assert len(maintenance.jobs) == 2
