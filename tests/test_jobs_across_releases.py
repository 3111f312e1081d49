"""Jobs queued before a release still run after it: RQ stores a job's function by dotted path."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue
from sqlalchemy import select

from sync.models import InboundEvent, InboxState, utcnow
from sync.worker import LEGACY_PATHS, make_worker


def test_a_job_queued_under_an_old_path_runs_with_the_runtime(runtime, redis_client) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        db.add(InboundEvent(delivery_id="old", webhook_event="jira:issue_updated", payload="{}",
                            state=InboxState.APPLIED, received_at=utcnow() - timedelta(days=30)))
    maintenance = Queue("maintenance", connection=redis_client)
    # What the previous release's scheduler enqueued: the function under its old module, no runtime.
    job = maintenance.enqueue("sync.retention.prune_inbox", job_timeout=60)
    outbound = Queue("outbound", connection=redis_client).enqueue("sync.outbound_jobs.drain_outbox")

    make_worker(runtime, ["maintenance", "outbound"], inline=True, connection=redis_client).work(burst=True)

    job.refresh()
    outbound.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert job.return_value() == {"deleted": 1}
    assert outbound.get_status() == "finished" and outbound.return_value() == {}
    with runtime.sessions() as db:
        assert db.scalars(select(InboundEvent)).all() == []


def test_every_job_is_stored_under_sync_jobs_whichever_module_defines_it(redis_client) -> None:  # type: ignore[no-untyped-def]
    import sync.jobs

    queue = Queue("maintenance", connection=redis_client)
    for name, function in sync.jobs.ENTRY_POINTS.items():
        # What RQ stores and what its cron scheduler keys on; a later move between modules keeps it.
        assert queue.enqueue(function).func_name == f"sync.jobs.{name}"
        assert getattr(sync.jobs, name) is function
    assert {"drain_inbox", "drain_outbox", "drain_notifications", "sweep", "reconcile_incremental"} \
        <= set(sync.jobs.ENTRY_POINTS)


def test_every_legacy_path_points_at_a_job_of_today() -> None:
    import sync.jobs

    for old, new in LEGACY_PATHS.items():
        module, _, name = new.rpartition(".")
        assert module == "sync.jobs" and callable(getattr(sync.jobs, name)), (old, new)
